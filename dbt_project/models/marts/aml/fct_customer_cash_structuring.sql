{{ config(enabled=pack_defines([
    'large_cash_threshold_cny', 'structuring_window_days', 'structuring_margin_rate', 'structuring_min_days',
    'fan_in_window_days', 'fan_out_window_days',
])) }}
{#-
    One row per customer and cash direction whose "just under the line" cash legs in the
    structuring window ending on D fall on at least structuring_min_days different days and
    together reach the large-value cash line. Legs on one day alone are the large-value
    rule's own cumulative case (cn.aml.large_cash), not structuring; the rule counts the legs.
-#}
with

windows as (
    select * from {{ ref('int_customer_transaction_windows_counted') }}
),

final as (
    select
        {{ business_date() }} as business_date,
        customer_id || '|' || direction as entity_key,
        customer_id,
        customer_type,
        direction,
        {{ window_start(pack_param('structuring_window_days')) }} as window_start_date,
        {{ business_date() }} as window_end_date,
        cast({{ pack_param('large_cash_threshold_cny') }} as decimal(18, 2)) as line_cny,
        cast({{ pack_param('large_cash_threshold_cny') }} * (1 - {{ pack_param('structuring_margin_rate') }}) as decimal(18, 2)) as band_floor_cny,
        near_line_transaction_count,
        near_line_day_count,
        near_line_account_count,
        near_line_amount_cny,
        near_line_smallest_cny,
        near_line_first_date,
        near_line_last_date,
        near_line_transaction_ids,
        near_line_amounts
    from windows
    where near_line_day_count >= {{ pack_param('structuring_min_days') }}
        and near_line_amount_cny >= {{ pack_param('large_cash_threshold_cny') }}
)

select * from final
