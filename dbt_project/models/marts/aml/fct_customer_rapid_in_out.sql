{{ config(enabled=pack_defines([
    'rapid_in_out_min_inflow_cny', 'rapid_in_out_window_hours', 'rapid_in_out_lookback_days',
])) }}
{#-
    One row per inflow under review on D (see int_inflows_outflows_matched) with the share
    of it that left the customer within the window; the rule compares that ratio with
    rapid_in_out_min_ratio (funds in and out quickly, PBOC).
-#}
with

inflows as (
    select * from {{ ref('int_inflows_outflows_matched') }}
),

final as (
    select
        {{ business_date() }} as business_date,
        customer_id || '|' || inflow_transaction_id as entity_key,
        customer_id,
        customer_type,
        account_id,
        inflow_transaction_id,
        inflow_at,
        inflow_channel,
        inflow_counterparty,
        inflow_amount_cny,
        window_end_at,
        outflow_count,
        outflow_amount_cny,
        outflow_ratio,
        last_outflow_at,
        outflow_transaction_ids,
        outflow_counterparties
    from inflows
)

select * from final
