{#-
    The fan-in or fan-out mart (fct_customer_fan_in_windows, fct_customer_fan_out_windows):
    one row per customer whose fan window of ``direction`` ('credit': fan-in, 'debit':
    fan-out), chosen by int_customer_fan_windows_slid, totals ``min_amount_cny`` or more
    (a SQL value, the model's pack_param of its own floor). The two marts differ only in
    the direction and the floor; the rules count the window's distinct counterparties
    (funds dispersed in / concentrated out, PBOC). Both marts are built only for a pack
    that defines the fan parameters (pack_defines).
-#}
{% macro fan_window_mart(direction, min_amount_cny) -%}
{{ config(enabled=pack_defines([
    'fan_in_window_days', 'fan_out_window_days', 'fan_in_min_amount_cny', 'fan_out_min_amount_cny',
    'fan_lookback_days', 'fan_entity_expected_purposes',
])) }}
with

windows as (
    select * from {{ ref('int_customer_fan_windows_slid') }}
    where direction = '{{ direction }}'
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
    where counterparty_amount_cny >= {{ min_amount_cny }}
)

select * from final
{%- endmacro %}
