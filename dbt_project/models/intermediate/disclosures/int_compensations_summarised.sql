{#-
    Compensation: repayments made by someone other than the borrower (a guarantor, the
    platform or its risk reserve) by the business date D, one row per loan and payer type,
    with the amount (principal + interest + fee + penalty) and the number of payments
    (CBRC [2017] No. 113 art. 10(9): cumulative compensated amount and count).
-#}
with

repayments as (
    select * from {{ ref('stg_platform__repayments') }}
    where cast(paid_at as date) <= {{ business_date() }}
        and payer_type <> 'borrower'
),

final as (
    select
        loan_id,
        payer_type,
        cast(sum(principal_paid + interest_paid + fee_paid + penalty_paid) as decimal(18, 2)) as compensated_amount,
        cast(count(*) as integer) as compensated_payment_count,
        min(cast(paid_at as date)) as first_compensated_date
    from repayments
    group by loan_id, payer_type
)

select * from final
