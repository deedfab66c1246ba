-- Every cent of every repayment paid by the business date lands in exactly one allocation row.
with paid as (
    select payment_id, principal_paid, interest_paid, fee_paid, penalty_paid
    from {{ ref('stg_platform__repayments') }}
    where cast(paid_at as date) <= {{ business_date() }}
),
allocated as (
    select payment_id, sum(principal_allocated) as principal, sum(interest_allocated) as interest,
        sum(fee_allocated) as fee, sum(penalty_paid) as penalty
    from {{ ref('int_repayments_allocated') }}
    group by payment_id
)
select paid.payment_id
from paid
full outer join allocated on paid.payment_id = allocated.payment_id
where paid.payment_id is null or allocated.payment_id is null
    or paid.principal_paid <> allocated.principal or paid.interest_paid <> allocated.interest
    or paid.fee_paid <> allocated.fee or paid.penalty_paid <> allocated.penalty
