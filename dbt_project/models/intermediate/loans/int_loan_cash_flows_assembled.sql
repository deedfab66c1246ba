{#-
    The borrower's cash flows per loan: one advance (what the borrower actually received:
    principal less upfront deductions, on the disbursement date) and one payment per
    installment (principal + interest + every fee due). The installments are
    int_loan_installments_completed's, the same ones the overdue side ages: the delivered
    schedule, or, for a loan without schedule rows, the installments rebuilt from its terms
    (regwatch.installments: cents half up, interest on the remaining principal, the last
    installment absorbing the rounding). Amounts are positive; flow_kind says which side
    of the equation a flow is on, flow_source where the payments came from (schedule | terms).

    Incremental by loan (issue 17): only the loans whose terms or schedule rows changed
    since the last build (loans_with_changed_inputs); every loan has its advance row, so
    delete+insert on loan_id replaces all of a rebuilt loan's flows.
-#}
-- depends_on: {{ ref('stg_platform__schedules') }}
with

loans as (
    select * from {{ ref('stg_platform__loans') }}
    {%- if is_incremental() %}
    where loan_id in ({{ loans_with_changed_inputs() }})
    {%- endif %}
),

advances as (
    select
        loan_id,
        0 as flow_number,
        'advance' as flow_kind,
        disbursement_date as flow_date,
        cast(principal - upfront_fee as decimal(18, 2)) as amount,
        'loan' as flow_source
    from loans
),

scheduled_payments as (
    select
        installments.loan_id,
        installments.installment_no as flow_number,
        'payment' as flow_kind,
        installments.due_date as flow_date,
        cast(installments.principal_due + installments.interest_due + installments.fee_due as decimal(18, 2))
            as amount,
        installments.schedule_source as flow_source
    from {{ ref('int_loan_installments_completed') }} as installments
    inner join loans on installments.loan_id = loans.loan_id
),

final as (
    select * from advances
    union all
    select * from scheduled_payments
)

select * from final
