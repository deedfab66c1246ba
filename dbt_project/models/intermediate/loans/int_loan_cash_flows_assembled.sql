{#-
    The borrower's cash flows per loan: one advance (what the borrower actually received:
    principal less upfront deductions, on the disbursement date) and one payment per
    installment (principal + interest + every fee due). The contractual schedule is used
    when the platform delivered one; a loan without schedule rows gets its installments
    rebuilt from its terms (repayment method, nominal rate, term), cents rounded half up
    and the last installment absorbing the rounding. Amounts are positive; flow_kind says
    which side of the equation a flow is on, flow_source where the payments came from.
-#}
with

loans as (
    select * from {{ ref('stg_platform__loans') }}
),

schedules as (
    select * from {{ ref('stg_platform__schedules') }}
),

scheduled_loans as (
    select distinct loan_id from schedules
),

unscheduled_loans as (
    select
        loans.loan_id,
        loans.repayment_method,
        loans.term_months,
        loans.disbursement_date,
        cast(loans.principal as double) as principal,
        cast(loans.nominal_rate as double) as annual_rate,
        cast(loans.nominal_rate as double) / 12 as monthly_rate
    from loans
    left join scheduled_loans on loans.loan_id = scheduled_loans.loan_id
    where scheduled_loans.loan_id is null
        and loans.term_months > 0
),

installment_numbers as (
    {{ integers_up_to(600) }}
),

term_installments as (
    select
        unscheduled_loans.*,
        installment_numbers.n as installment_no,
        installment_numbers.n = case when repayment_method = 'bullet' then 1 else term_months end as is_last,
        round(principal / term_months, 2) as level_principal,
        case
            when monthly_rate > 0
                then round(principal * monthly_rate / (1 - pow(1 + monthly_rate, -term_months)), 2)
            else round(principal / term_months, 2)
        end as annuity
    from unscheduled_loans
    inner join installment_numbers
        on installment_numbers.n <= case when repayment_method = 'bullet' then 1 else term_months end
),

term_payments as (
    select
        loan_id,
        installment_no,
        cast(
            {{ dbt.dateadd('month', "case when repayment_method = 'bullet' then term_months else installment_no end", 'disbursement_date') }}
            as date
        ) as due_date,
        case repayment_method
            when 'equal_installment' then
                case
                    when not is_last then annuity
                    when monthly_rate = 0 then principal - annuity * (term_months - 1)
                    else round(
                        (
                            principal * pow(1 + monthly_rate, term_months - 1)
                            - annuity * (pow(1 + monthly_rate, term_months - 1) - 1) / monthly_rate
                        ) * (1 + monthly_rate),
                        2
                    )
                end
            when 'equal_principal' then
                case when is_last then principal - level_principal * (term_months - 1) else level_principal end
                + round((principal - level_principal * (installment_no - 1)) * monthly_rate, 2)
            when 'interest_first' then
                round(principal * monthly_rate, 2) + case when is_last then principal else 0 end
            when 'flat_add_on' then
                case when is_last then principal - level_principal * (term_months - 1) else level_principal end
                + round(principal * monthly_rate, 2)
            when 'bullet' then
                principal + round(principal * annual_rate * term_months / 12, 2)
        end as amount
    from term_installments
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
        schedules.loan_id,
        schedules.installment_no as flow_number,
        'payment' as flow_kind,
        schedules.due_date as flow_date,
        cast(schedules.principal_due + schedules.interest_due + schedules.fee_due as decimal(18, 2)) as amount,
        'schedule' as flow_source
    from schedules
    inner join loans on schedules.loan_id = loans.loan_id
),

rebuilt_payments as (
    select
        loan_id,
        installment_no as flow_number,
        'payment' as flow_kind,
        due_date as flow_date,
        cast(amount as decimal(18, 2)) as amount,
        'terms' as flow_source
    from term_payments
),

final as (
    select * from advances
    union all
    select * from scheduled_payments
    union all
    select * from rebuilt_payments
)

select * from final
