{{ config(enabled=pack_defines(['cycle_max_hops', 'cycle_min_amount_cny', 'cycle_lookback_days'])) }}
{#-
    One row per transfer that starts a cycle back to its origin (see
    int_transfer_cycles_traced); the rule flags cycles that return within
    cycle_window_days (money returning to its origin, frequent flows between the same
    parties, PBOC).
-#}
with

cycles as (
    select * from {{ ref('int_transfer_cycles_traced') }}
),

final as (
    select
        {{ business_date() }} as business_date,
        customer_id || '|' || first_transaction_id as entity_key,
        customer_id,
        first_transaction_id,
        hop_count,
        return_days,
        left_at,
        returned_at,
        left_amount_cny,
        returned_amount_cny,
        returned_ratio,
        customer_path,
        transaction_ids,
        hop_amounts,
        cycles_found
    from cycles
)

select * from final
