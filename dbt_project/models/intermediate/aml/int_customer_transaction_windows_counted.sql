{{ config(enabled=pack_defines([
    'large_cash_threshold_cny', 'structuring_window_days', 'structuring_margin_rate',
])) }}
{#-
    One row per customer and direction with, over the structuring_window_days calendar days
    ending on D, the features of structuring: cash legs each "just under" the large-value
    cash line, i.e. in [line x (1 - structuring_margin_rate), line). (Fan-in / fan-out
    windows slide over every day: int_customer_fan_windows_slid.)

    Transactions come from every load up to D, so a window reaches back across earlier
    business dates and a late-arriving transaction counts in the window of its date.
-#}
with

transactions as (
    select * from {{ ref('int_transactions_counterparties_resolved') }}
    where transaction_date <= {{ business_date() }}
),

structuring_legs as (
    select *
    from transactions
    where channel = 'cash'
        and transaction_date >= {{ window_start(pack_param('structuring_window_days')) }}
        and amount_cny >= {{ pack_param('large_cash_threshold_cny') }} * (1 - {{ pack_param('structuring_margin_rate') }})
        and amount_cny < {{ pack_param('large_cash_threshold_cny') }}
),

structuring as (
    select
        customer_id,
        direction,
        cast(count(*) as integer) as near_line_transaction_count,
        cast(count(distinct transaction_date) as integer) as near_line_day_count,
        cast(count(distinct account_id) as integer) as near_line_account_count,
        cast(sum(amount_cny) as decimal(18, 2)) as near_line_amount_cny,
        cast(min(amount_cny) as decimal(18, 2)) as near_line_smallest_cny,
        min(transaction_date) as near_line_first_date,
        max(transaction_date) as near_line_last_date,
        {{ dbt.listagg('transaction_id', "','", 'order by transaction_at, transaction_id') }} as near_line_transaction_ids,
        {{ dbt.listagg("cast(transaction_date as " ~ dbt.type_string() ~ ") || ' ' || cast(amount_cny as " ~ dbt.type_string() ~ ")", "'; '", 'order by transaction_at, transaction_id') }} as near_line_amounts
    from structuring_legs
    group by customer_id, direction
),

customer_directions as (
    select customer_id, direction from structuring
),

customer_types as (
    select customer_id, max(customer_type) as customer_type
    from transactions
    group by customer_id
),

final as (
    select
        customer_directions.customer_id,
        customer_directions.direction,
        customer_types.customer_type,
        coalesce(structuring.near_line_transaction_count, 0) as near_line_transaction_count,
        coalesce(structuring.near_line_day_count, 0) as near_line_day_count,
        coalesce(structuring.near_line_account_count, 0) as near_line_account_count,
        coalesce(structuring.near_line_amount_cny, 0) as near_line_amount_cny,
        structuring.near_line_smallest_cny,
        structuring.near_line_first_date,
        structuring.near_line_last_date,
        structuring.near_line_transaction_ids,
        structuring.near_line_amounts
    from customer_directions
    left join structuring
        on customer_directions.customer_id = structuring.customer_id
        and customer_directions.direction = structuring.direction
    left join customer_types on customer_directions.customer_id = customer_types.customer_id
)

select * from final
