-- Each breakdown adds up to its total: aging buckets to the outstanding principal and loans,
-- payer types to the compensated amount and payments.
with rows_of_date as (
    select * from {{ ref('rpt_disclosure_indicators') }}
    where business_date = {{ business_date() }}
),
pairs as (
    select * from (values
        ('outstanding_principal_by_aging', 'outstanding_principal'),
        ('outstanding_loans_by_aging', 'outstanding_loan_count'),
        ('compensated_amount_by_payer', 'compensated_amount'),
        ('compensated_payments_by_payer', 'compensated_payment_count')
    ) as p (breakdown_id, total_id)
),
sums as (
    select rows_of_date.period_id, pairs.total_id, sum(rows_of_date.value) as breakdown_sum
    from rows_of_date
    inner join pairs on rows_of_date.indicator_id = pairs.breakdown_id
    group by rows_of_date.period_id, pairs.total_id
)
select sums.period_id, sums.total_id, sums.breakdown_sum, totals.value
from sums
left join rows_of_date as totals
    on totals.period_id = sums.period_id and totals.indicator_id = sums.total_id
where totals.value is null or totals.value <> sums.breakdown_sum
