{{ config(enabled=pack_defines([
    'rapid_in_out_min_inflow_cny', 'rapid_in_out_window_hours', 'rapid_in_out_lookback_days',
])) }}
{#-
    One row per inflow (a credit of at least rapid_in_out_min_inflow_cny, not from the
    customer's own accounts) dated within the last rapid_in_out_lookback_days calendar days
    up to D, with the customer's outflows (debits of any of its accounts, not to its own
    accounts) in the rapid_in_out_window_hours after it. Outflows delivered by D count, so
    an inflow stays under review until its window has passed and late outflows arrive.
-#}
with

transactions as (
    select * from {{ ref('int_transactions_counterparties_resolved') }}
    where counterparty_customer_id is null or counterparty_customer_id <> customer_id
),

inflows as (
    select *
    from transactions
    where direction = 'credit'
        and amount_cny >= {{ pack_param('rapid_in_out_min_inflow_cny') }}
        and transaction_date >= {{ window_start(pack_param('rapid_in_out_lookback_days')) }}
        and transaction_date <= {{ business_date() }}
),

outflows as (
    select * from transactions where direction = 'debit'
),

matched as (
    select
        inflows.transaction_id as inflow_transaction_id,
        outflows.transaction_id as outflow_transaction_id,
        outflows.transaction_at as outflow_at,
        outflows.amount_cny as outflow_amount_cny,
        outflows.counterparty_key as outflow_counterparty_key
    from inflows
    inner join outflows
        on inflows.customer_id = outflows.customer_id
        and outflows.transaction_at > inflows.transaction_at
        and outflows.transaction_at <= {{ dbt.dateadd('hour', pack_param('rapid_in_out_window_hours'), 'inflows.transaction_at') }}
),

outflow_totals as (
    select
        inflow_transaction_id,
        cast(count(*) as integer) as outflow_count,
        cast(sum(outflow_amount_cny) as decimal(18, 2)) as outflow_amount_cny,
        max(outflow_at) as last_outflow_at,
        {{ dbt.listagg('outflow_transaction_id', "','", 'order by outflow_at, outflow_transaction_id') }} as outflow_transaction_ids,
        {{ dbt.listagg('distinct outflow_counterparty_key', "','", 'order by outflow_counterparty_key') }} as outflow_counterparties
    from matched
    group by inflow_transaction_id
),

final as (
    select
        inflows.customer_id,
        inflows.customer_type,
        inflows.account_id,
        inflows.transaction_id as inflow_transaction_id,
        inflows.transaction_at as inflow_at,
        inflows.transaction_date as inflow_date,
        inflows.channel as inflow_channel,
        inflows.counterparty_key as inflow_counterparty,
        cast(inflows.amount_cny as decimal(18, 2)) as inflow_amount_cny,
        cast({{ dbt.dateadd('hour', pack_param('rapid_in_out_window_hours'), 'inflows.transaction_at') }} as timestamp) as window_end_at,
        coalesce(outflow_totals.outflow_count, 0) as outflow_count,
        coalesce(outflow_totals.outflow_amount_cny, cast(0 as decimal(18, 2))) as outflow_amount_cny,
        outflow_totals.last_outflow_at,
        outflow_totals.outflow_transaction_ids,
        outflow_totals.outflow_counterparties,
        cast(coalesce(outflow_totals.outflow_amount_cny, 0) / inflows.amount_cny as decimal(12, 6)) as outflow_ratio
    from inflows
    left join outflow_totals on inflows.transaction_id = outflow_totals.inflow_transaction_id
)

select * from final
