-- The disclosed outstanding balance, loan count and interest equal the sums over the loans mart
-- (amounts in the reporting currency: the *_reporting columns; a total unknown for want of an
-- FX rate is null on both sides).
with loans as (
    select
        sum(outstanding_principal_reporting) as outstanding_principal,
        sum(case when is_outstanding then 1 else 0 end) as outstanding_loan_count,
        sum(outstanding_interest_reporting) as outstanding_interest,
        count(*) as cumulative_loan_count,
        sum(principal_reporting) as cumulative_loan_amount
    from {{ ref('fct_loan_positions') }}
),
exposures as (
    select sum(outstanding_principal) as outstanding_principal from {{ ref('fct_borrower_exposures') }}
),
disclosed as (
    select period_id, indicator_id, value
    from {{ ref('rpt_disclosure_indicators') }}
    where business_date = {{ business_date() }} and breakdown_key = 'total'
)
select disclosed.period_id, disclosed.indicator_id, disclosed.value
from disclosed
cross join loans
cross join exposures
where (disclosed.indicator_id = 'outstanding_principal'
        and (disclosed.value <> coalesce(loans.outstanding_principal, 0)
            or disclosed.value <> coalesce(exposures.outstanding_principal, 0)))
    or (disclosed.indicator_id = 'outstanding_loan_count' and disclosed.value <> loans.outstanding_loan_count)
    or (disclosed.indicator_id = 'outstanding_interest' and disclosed.value <> coalesce(loans.outstanding_interest, 0))
    or (disclosed.indicator_id = 'cumulative_loan_count' and disclosed.value <> loans.cumulative_loan_count)
    or (disclosed.indicator_id = 'cumulative_loan_amount' and disclosed.value <> coalesce(loans.cumulative_loan_amount, 0))
