{#-
    Overdue interest, penalties and extra fees actually charged on a loan, annualised on
    the amount overdue and the days it was overdue (SPC Fa Shi [2020] No. 6 art. 29: they
    fall under the same cap as interest). A payment counts days late from its
    installment's due date; charges are the penalty plus interest and fees above what the
    schedule asked. rate = charges x 365 / sum(overdue principal and interest x days late).

    The contract makes a repayment's installment_no optional, so a late fee is often a
    payment of its own naming no installment (issue 15, point 5). A payment that names no
    installment of the schedule is placed by int_repayments_allocated's waterfall: the
    installments it settles count its days late like a named payment, and what it leaves
    unallocated - its penalty, and interest or fees beyond everything the schedule asked -
    is an overdue charge of its loan. A loan charged whose payments were never late (a late
    fee paid while the installment is still unpaid) is measured on the principal and
    interest overdue on the business date, over their days past due.
-#}
with

repayments as (
    select * from {{ ref('stg_platform__repayments') }}
    where installment_no is not null
),

schedules as (
    select * from {{ ref('int_loan_installments_completed') }}
),

pooled as (
    select * from {{ ref('int_repayments_allocated') }}
    where allocation_method <> 'named'
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

-- Payments naming no installment (or one the schedule lacks), placed by the waterfall.
pooled_against_installments as (
    select
        pooled.loan_id,
        pooled.payment_id,
        {{ dbt.datediff('schedules.due_date', 'pooled.paid_date', 'day') }} as days_late,
        schedules.principal_due + schedules.interest_due as overdue_amount,
        cast(0 as decimal(18, 2)) as overdue_charges
    from pooled
    inner join schedules
        on pooled.loan_id = schedules.loan_id
        and pooled.installment_no = schedules.installment_no
    where pooled.allocation_method = 'waterfall'
),

-- What such a payment left unallocated: its penalty (a late fee), and interest or fees the
-- schedule never asked for (a loan without a schedule has none to compare with).
pooled_unallocated as (
    select
        pooled.loan_id,
        pooled.payment_id,
        cast(null as integer) as days_late,
        cast(0 as decimal(18, 2)) as overdue_amount,
        pooled.penalty_paid
        + case
            when pooled.loan_id in (select loan_id from schedules)
                then greatest(pooled.interest_allocated, 0) + greatest(pooled.fee_allocated, 0)
            else 0
        end as overdue_charges
    from pooled
    where pooled.allocation_method = 'unallocated'
),

charged as (
    select * from repayments_against_installments
    union all
    select * from pooled_against_installments
    union all
    select * from pooled_unallocated
),

overdue_on_business_date as (
    select
        loan_id,
        sum((principal_unpaid + interest_unpaid) * days_past_due) as overdue_amount_days
    from {{ ref('int_installments_aged') }}
    where is_overdue
    group by loan_id
),

per_loan as (
    select
        loan_id,
        sum(case when days_late > 0 then 1 else 0 end) as late_payment_count,
        max(greatest(coalesce(days_late, 0), 0)) as max_days_late,
        sum(overdue_charges) as overdue_charges,
        sum(case when days_late > 0 then overdue_amount * days_late else 0 end) as late_amount_days
    from charged
    group by loan_id
    having sum(case when days_late > 0 then 1 else 0 end) > 0 or sum(overdue_charges) > 0
),

measured as (
    select
        per_loan.*,
        case
            when per_loan.late_amount_days > 0 then per_loan.late_amount_days
            when per_loan.overdue_charges > 0 then coalesce(overdue_on_business_date.overdue_amount_days, 0)
            else 0
        end as overdue_amount_days
    from per_loan
    left join overdue_on_business_date on per_loan.loan_id = overdue_on_business_date.loan_id
),

final as (
    select
        loan_id,
        cast(late_payment_count as integer) as late_payment_count,
        cast(max_days_late as integer) as max_days_late,
        cast(overdue_charges as decimal(18, 2)) as overdue_charges,
        cast(overdue_amount_days as decimal(24, 2)) as overdue_amount_days,
        cast(
            case
                when overdue_amount_days > 0
                    then cast(overdue_charges as double) * 365 / cast(overdue_amount_days as double)
            end
            as double
        ) as overdue_charge_rate
    from measured
)

select * from final
