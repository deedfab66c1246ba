{#-
    Every contractual installment as of the business date D (delivered, or rebuilt from the
    loan's terms when no schedule was delivered: int_loan_installments_completed, is_derived): what was due, what the
    repayments allocated to it settled (int_repayments_allocated), what is still unpaid,
    and, when it fell due before D unpaid, its days past due and aging bucket. Buckets come
    from the pack (overdue_bucket_upper_days, e.g. [30, 60, 90]): 1-30, 31-60, 61-90 and
    "more than 90" - exactly 90 days is in 61-90 (CBRC [2017] No. 113 art. 10(8)). An
    installment settled by anyone (the borrower, a guarantor, the platform) is paid; what
    others paid is disclosed as compensation.
-#}
with

schedules as (
    select * from {{ ref('int_loan_installments_completed') }}
),

allocated as (
    select
        loan_id,
        installment_no,
        sum(principal_allocated) as principal_paid,
        sum(interest_allocated) as interest_paid,
        sum(fee_allocated) as fee_paid,
        sum(case when payer_type <> 'borrower' then principal_allocated + interest_allocated + fee_allocated else 0 end)
            as compensated_paid
    from {{ ref('int_repayments_allocated') }}
    where installment_no is not null
    group by loan_id, installment_no
),

unpaid as (
    select
        schedules.loan_id,
        schedules.installment_no,
        schedules.due_date,
        schedules.principal_due,
        schedules.interest_due,
        schedules.fee_due,
        schedules.schedule_source,
        schedules.is_derived,
        cast(coalesce(allocated.principal_paid, 0) as decimal(18, 2)) as principal_paid,
        cast(coalesce(allocated.interest_paid, 0) as decimal(18, 2)) as interest_paid,
        cast(coalesce(allocated.fee_paid, 0) as decimal(18, 2)) as fee_paid,
        cast(coalesce(allocated.compensated_paid, 0) as decimal(18, 2)) as compensated_paid,
        cast(greatest(schedules.principal_due - coalesce(allocated.principal_paid, 0), 0) as decimal(18, 2))
            as principal_unpaid,
        cast(greatest(schedules.interest_due - coalesce(allocated.interest_paid, 0), 0) as decimal(18, 2))
            as interest_unpaid,
        cast(greatest(schedules.fee_due - coalesce(allocated.fee_paid, 0), 0) as decimal(18, 2)) as fee_unpaid
    from schedules
    left join allocated
        on schedules.loan_id = allocated.loan_id
        and schedules.installment_no = allocated.installment_no
),

-- An installment rebuilt from the terms may differ from what the lender's system charged by
-- its rounding (a few cents): what is left unpaid up to the pack's
-- derived_installment_tolerance does not make it overdue. A delivered one has no tolerance.
{%- set unsettled -%}
    principal_unpaid + interest_unpaid + fee_unpaid
        > case when is_derived then {{ pack_param('derived_installment_tolerance', '0') }} else 0 end
{%- endset %}
aged as (
    select
        *,
        due_date < {{ business_date() }} and {{ unsettled }} as is_overdue,
        case
            when due_date < {{ business_date() }} and {{ unsettled }}
                then cast({{ dbt.datediff('due_date', business_date(), 'day') }} as integer)
            else 0
        end as days_past_due
    from unpaid
),

final as (
    select
        {{ business_date() }} as business_date,
        *,
        {{ aging_bucket('days_past_due') }} as aging_bucket
    from aged
)

select * from final
