{#-
    Overdue interest, penalties and extra fees actually charged on a loan, annualised on
    the amount overdue and the days it was overdue (SPC Fa Shi [2020] No. 6 art. 29: they
    fall under the same cap as interest). A payment counts days late from its
    installment's due date; charges are the penalty plus interest and fees above what the
    schedule asked. rate = charges x 365 / sum(overdue principal and interest x days late).
-#}
with

repayments as (
    select * from {{ ref('stg_platform__repayments') }}
    where installment_no is not null
),

schedules as (
    select * from {{ ref('stg_platform__schedules') }}
),

repayments_against_installments as (
    select
        repayments.loan_id,
        repayments.payment_id,
        {{ dbt.datediff('schedules.due_date', 'cast(repayments.paid_at as date)', 'day') }} as days_late,
        schedules.principal_due + schedules.interest_due as overdue_amount,
        repayments.penalty_paid
        + greatest(repayments.interest_paid - schedules.interest_due, 0)
        + greatest(repayments.fee_paid - schedules.fee_due, 0) as overdue_charges
    from repayments
    inner join schedules
        on repayments.loan_id = schedules.loan_id
        and repayments.installment_no = schedules.installment_no
),

final as (
    select
        loan_id,
        cast(sum(case when days_late > 0 then 1 else 0 end) as integer) as late_payment_count,
        cast(max(greatest(days_late, 0)) as integer) as max_days_late,
        cast(sum(overdue_charges) as decimal(18, 2)) as overdue_charges,
        cast(sum(case when days_late > 0 then overdue_amount * days_late else 0 end) as decimal(24, 2))
            as overdue_amount_days,
        cast(
            case
                when sum(case when days_late > 0 then overdue_amount * days_late else 0 end) > 0
                    then cast(sum(overdue_charges) as double) * 365
                    / cast(sum(case when days_late > 0 then overdue_amount * days_late else 0 end) as double)
            end
            as double
        ) as overdue_charge_rate
    from repayments_against_installments
    group by loan_id
    having sum(case when days_late > 0 then 1 else 0 end) > 0 or sum(overdue_charges) > 0
)

select * from final
