{#-
    The borrower's cash flows per loan: one advance (what the borrower actually received:
    principal less upfront deductions, on the disbursement date) and one payment per
    contractual installment (principal + interest + every fee due). Amounts are positive;
    flow_kind says which side of the equation a flow is on.
-#}
with

loans as (
    select * from {{ ref('stg_platform__loans') }}
),

schedules as (
    select * from {{ ref('stg_platform__schedules') }}
),

advances as (
    select
        loan_id,
        0 as flow_number,
        'advance' as flow_kind,
        disbursement_date as flow_date,
        cast(principal - upfront_fee as decimal(18, 2)) as amount
    from loans
),

payments as (
    select
        schedules.loan_id,
        schedules.installment_no as flow_number,
        'payment' as flow_kind,
        schedules.due_date as flow_date,
        cast(schedules.principal_due + schedules.interest_due + schedules.fee_due as decimal(18, 2)) as amount
    from schedules
    inner join loans on schedules.loan_id = loans.loan_id
),

final as (
    select * from advances
    union all
    select * from payments
)

select * from final
