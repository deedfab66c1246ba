{{ config(enabled=pack_defines([
    'fan_in_window_days', 'fan_out_window_days', 'fan_in_min_amount_cny', 'fan_out_min_amount_cny',
    'fan_lookback_days', 'fan_entity_expected_purposes',
]))  }}
{#-
    One row per customer whose non-cash debits to counterparties other than its own accounts
    in the fan_out_window_days window with the most of them among the
    windows ending on each of the last fan_lookback_days days (int_customer_fan_windows_slid) reach fan_out_min_amount_cny in total; the rule
    counts the distinct counterparties (funds dispersed in / concentrated out, PBOC).
-#}
with

windows as (
    select * from {{ ref('int_customer_fan_windows_slid') }}
    where direction = 'debit'
),

final as (
    select
        {{ business_date() }} as business_date,
        customer_id as entity_key,
        customer_id,
        customer_type,
        window_start_date,
        window_end_date,
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
