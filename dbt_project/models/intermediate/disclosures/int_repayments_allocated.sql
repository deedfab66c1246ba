{#-
    Repayments paid by the business date D allocated to installments (delivered or rebuilt
    from the terms: int_loan_installments_completed), one row per payment and installment it settles. A payment that names an installment of the loan's schedule
    settles that installment. A payment that names none (or one the schedule lacks) goes to
    a waterfall per loan: principal, interest and fee each settle what the named payments
    left unpaid, installment by installment in the pack's order
    (repayment_allocation_order: earliest_due_first | latest_due_first), payments in the
    order they were made. Whatever a payment has left over (overpayment, and its penalty,
    which belongs to no installment) is a row with a null installment_no: every cent of
    every payment lands in exactly one row, and every payment has at least one.

    Incremental by loan (issue 17): a payment's allocation depends on its loan's
    installments and payments only, so a day's build allocates again only the loans whose
    terms or schedule changed, that a repayment delivered since names (or named before it
    was delivered again under another loan), or that have a payment dated after the last
    build's date (loans_with_changed_inputs(repayments=true)). Each of their payments has a
    row, and delete+insert on payment_id replaces every row of each (also of a payment that
    moved to another loan: the loan it left is allocated again too).
-#}
{%- set order = pack_value('repayment_allocation_order') -%}
{%- if order not in ('earliest_due_first', 'latest_due_first') -%}
    {{ exceptions.raise_compiler_error("repayment_allocation_order must be earliest_due_first or latest_due_first, not " ~ order) }}
{%- endif -%}
{%- set direction = 'asc' if order == 'earliest_due_first' else 'desc' -%}
{%- set components = ['principal', 'interest', 'fee'] -%}
with
-- depends_on: {{ ref('stg_platform__loans') }}, {{ ref('stg_platform__schedules') }}
{% if is_incremental() %}
rebuilt_loans as (
    {{ loans_with_changed_inputs(repayments=true) }}
),
{% endif %}
repayments as (
    select
        payment_id,
        loan_id,
        paid_at,
        cast(paid_at as date) as paid_date,
        installment_no,
        principal_paid,
        interest_paid,
        fee_paid,
        penalty_paid,
        payer_type
    from {{ ref('stg_platform__repayments') }}
    where cast(paid_at as date) <= {{ business_date() }}
    {%- if is_incremental() %}
        and loan_id in (select loan_id from rebuilt_loans)
    {%- endif %}
),

schedules as (
    select * from {{ ref('int_loan_installments_completed') }}
    {%- if is_incremental() %}
    where loan_id in (select loan_id from rebuilt_loans)
    {%- endif %}
),

named as (
    select repayments.*
    from repayments
    inner join schedules
        on repayments.loan_id = schedules.loan_id
        and repayments.installment_no = schedules.installment_no
),

pooled as (
    select repayments.*
    from repayments
    left join named on repayments.payment_id = named.payment_id
    where named.payment_id is null
),

named_totals as (
    select
        loan_id,
        installment_no,
        {% for c in components %}sum({{ c }}_paid) as {{ c }}_named{{ "," if not loop.last }}
        {% endfor %}
    from named
    group by loan_id, installment_no
),

-- What the named payments left unpaid, as consecutive intervals per loan in the pack's order.
installment_rest as (
    select
        schedules.loan_id,
        schedules.installment_no,
        {% for c in components %}
        greatest(schedules.{{ c }}_due - coalesce(named_totals.{{ c }}_named, 0), 0) as {{ c }}_rest,
        sum(greatest(schedules.{{ c }}_due - coalesce(named_totals.{{ c }}_named, 0), 0)) over (
            partition by schedules.loan_id
            order by schedules.due_date {{ direction }}, schedules.installment_no {{ direction }}
            rows between unbounded preceding and current row
        ) as {{ c }}_rest_to{{ "," if not loop.last }}
        {% endfor %}
    from schedules
    left join named_totals
        on schedules.loan_id = named_totals.loan_id
        and schedules.installment_no = named_totals.installment_no
    where schedules.loan_id in (select loan_id from pooled)
),

-- The pooled payments as consecutive intervals per loan, in the order they were paid.
pool_intervals as (
    select
        pooled.*,
        {% for c in components %}
        sum({{ c }}_paid) over (
            partition by loan_id order by paid_at, payment_id rows between unbounded preceding and current row
        ) as {{ c }}_paid_to{{ "," if not loop.last }}
        {% endfor %}
    from pooled
),

-- The overlap of a payment's interval with an installment's interval is what it settles.
pool_overlaps as (
    select
        pool_intervals.payment_id,
        installment_rest.installment_no,
        {% for c in components %}
        greatest(
            least(pool_intervals.{{ c }}_paid_to, installment_rest.{{ c }}_rest_to)
            - greatest(
                pool_intervals.{{ c }}_paid_to - pool_intervals.{{ c }}_paid,
                installment_rest.{{ c }}_rest_to - installment_rest.{{ c }}_rest
            ),
            0
        ) as {{ c }}_allocated{{ "," if not loop.last }}
        {% endfor %}
    from pool_intervals
    inner join installment_rest on pool_intervals.loan_id = installment_rest.loan_id
),

pool_allocated as (
    select *
    from pool_overlaps
    where {% for c in components %}{{ c }}_allocated > 0{{ " or " if not loop.last }}{% endfor %}
),

pool_leftovers as (
    select
        pooled.payment_id,
        cast(null as integer) as installment_no,
        {% for c in components %}
        pooled.{{ c }}_paid - coalesce(sum(pool_allocated.{{ c }}_allocated), 0) as {{ c }}_allocated,
        {% endfor %}
        pooled.penalty_paid,
        count(pool_allocated.payment_id) as allocated_rows
    from pooled
    left join pool_allocated on pooled.payment_id = pool_allocated.payment_id
    group by pooled.payment_id, {% for c in components %}pooled.{{ c }}_paid, {% endfor %}pooled.penalty_paid
),

allocations as (
    select
        payment_id,
        installment_no,
        'named' as allocation_method,
        {% for c in components %}{{ c }}_paid as {{ c }}_allocated,
        {% endfor %}
        penalty_paid
    from named
    union all
    select
        payment_id,
        installment_no,
        'waterfall' as allocation_method,
        {% for c in components %}{{ c }}_allocated,
        {% endfor %}
        cast(0 as decimal(18, 2)) as penalty_paid
    from pool_allocated
    union all
    select
        payment_id,
        installment_no,
        'unallocated' as allocation_method,
        {% for c in components %}{{ c }}_allocated,
        {% endfor %}
        penalty_paid
    from pool_leftovers
    -- a payment that settled nothing (even a zero one) still has its row: none is lost
    where {% for c in components %}{{ c }}_allocated <> 0 or {% endfor %}penalty_paid <> 0 or allocated_rows = 0
),

final as (
    select
        allocations.payment_id,
        repayments.loan_id,
        allocations.installment_no,
        allocations.allocation_method,
        repayments.paid_at,
        repayments.paid_date,
        repayments.payer_type,
        {% for c in components %}cast(allocations.{{ c }}_allocated as decimal(18, 2)) as {{ c }}_allocated,
        {% endfor %}
        cast(allocations.penalty_paid as decimal(18, 2)) as penalty_paid
    from allocations
    inner join repayments on allocations.payment_id = repayments.payment_id
)

select * from final
