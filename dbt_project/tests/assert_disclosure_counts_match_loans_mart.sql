-- The loans behind the disclosure are exactly the loans of the APR mart disbursed by the business date.
with apr_loans as (
    select loan_id from {{ ref('fct_loan_apr') }} where disbursement_date <= {{ business_date() }}
),
position_loans as (
    select loan_id from {{ ref('fct_loan_positions') }}
),
missing as (
    select loan_id from apr_loans
    except
    select loan_id from position_loans
),
extra as (
    select loan_id from position_loans
    except
    select loan_id from apr_loans
)
select loan_id, 'missing' as problem from missing
union all
select loan_id, 'extra' as problem from extra
