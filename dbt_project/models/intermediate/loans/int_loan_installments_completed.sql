{#-
    Every contractual installment of every loan as of the business date D, the one source
    of installments for the overdue aging, the repayment allocation, the overdue-charges
    check and the real APR's cash flows (issue 15, point 4). A loan with schedule rows
    delivered (latest version as of D) keeps them (schedule_source 'schedule'); a loan
    without any gets the installments int_loan_installments_derived rebuilt from its
    terms (schedule_source 'terms', is_derived): an empty schedules.csv no longer makes
    every loan current. A loan whose terms give no schedule has no row here.

    Incremental by loan (issue 17): only the loans whose terms or schedule rows changed
    since the last build (loans_with_changed_inputs; the pre-hook deletes their old rows).
-#}
with
-- depends_on: {{ ref('stg_platform__loans') }}

delivered as (
    select
        loan_id,
        installment_no,
        due_date,
        principal_due,
        interest_due,
        fee_due,
        'schedule' as schedule_source,
        false as is_derived
    from {{ ref('stg_platform__schedules') }}
    {%- if is_incremental() %}
    where loan_id in ({{ loans_with_changed_inputs() }})
    {%- endif %}
),

derived as (
    select
        cast(loan_id as {{ dbt.type_string() }}) as loan_id,
        cast(installment_no as integer) as installment_no,
        cast(due_date as date) as due_date,
        cast(cast(principal_cents as decimal(18, 0)) * cast(0.01 as decimal(3, 2)) as decimal(18, 2)) as principal_due,
        cast(cast(interest_cents as decimal(18, 0)) * cast(0.01 as decimal(3, 2)) as decimal(18, 2)) as interest_due,
        cast(0 as decimal(18, 2)) as fee_due,
        'terms' as schedule_source,
        true as is_derived
    from {{ ref('int_loan_installments_derived') }}
    {%- if is_incremental() %}
    where loan_id in ({{ loans_with_changed_inputs() }})
    {%- endif %}
),

final as (
    select * from delivered
    union all
    select * from derived
)

select * from final
