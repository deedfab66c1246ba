{{ config(enabled=pack_defines([
    'large_cash_threshold_cny', 'structuring_window_days', 'structuring_margin_rate',
    'fan_in_window_days', 'fan_out_window_days', 'fan_out_min_amount_cny',
])) }}
{#-
    One row per customer whose non-cash debits to counterparties other than its own accounts
    in the fan_out_window_days ending on D reach fan_out_min_amount_cny in total; the rule
    counts the distinct counterparties (funds dispersed in / concentrated out, PBOC).
-#}
with

windows as (
    select * from {{ ref('int_customer_transaction_windows_counted') }}
    where direction = 'debit'
),

final as (
    select
        {{ business_date() }} as business_date,
        customer_id as entity_key,
        customer_id,
        customer_type,
        {{ window_start(pack_param('fan_out_window_days')) }} as window_start_date,
        {{ business_date() }} as window_end_date,
        counterparty_count,
        counterparty_transaction_count,
        counterparty_amount_cny,
        counterparty_first_date,
        counterparty_last_date,
        counterparty_keys,
        counterparty_transaction_ids
    from windows
    where counterparty_amount_cny >= {{ pack_param('fan_out_min_amount_cny') }}
)

select * from final
