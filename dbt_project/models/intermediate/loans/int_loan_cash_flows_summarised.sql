{#-
    One row per loan: what the borrower repays in all (the sum of the payment flows) and the
    cash flows as one line (date, + for the advance or - for a payment, amount; in flow
    order), as fct_loan_apr shows them. Incremental by loan (issue 17), as the flows it
    sums: only the loans whose terms or schedule rows changed since the last build, so the
    daily mart no longer aggregates every loan's flows (12.75 M rows for a million loans).
-#}
-- depends_on: {{ ref('stg_platform__loans') }}
-- depends_on: {{ ref('stg_platform__schedules') }}
with

flows as (
    select * from {{ ref('int_loan_cash_flows_assembled') }}
    {%- if is_incremental() %}
    where loan_id in ({{ loans_with_changed_inputs() }})
    {%- endif %}
),

final as (
    select
        loan_id,
        sum(case when flow_kind = 'payment' then amount else 0 end) as total_repayable,
        {{ dbt.listagg(
            "cast(flow_date as " ~ dbt.type_string() ~ ") || ' ' || case when flow_kind = 'advance' then '+' else '-' end"
            ~ " || cast(amount as " ~ dbt.type_string() ~ ")",
            "'; '",
            "order by flow_number"
        ) }} as cash_flows
    from flows
    group by loan_id
)

select * from final
