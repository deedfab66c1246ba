{{ config(enabled=pack_defines(['graph_lookback_days', 'graph_min_amount_cny', 'graph_excluded_purposes', 'graph_pass_through_min_ratio'])) }}
{#-
    One row per customer that received at least one edge of the transfer graph
    (int_customer_transfers_linked): what it received, what it sent on to other customers
    after its first receipt, and whether it is a pass-through: it forwarded between
    graph_pass_through_min_ratio and 1 / graph_pass_through_min_ratio of its inflow (moved
    the money on, neither kept most of it nor added much of its own). A customer that paid
    out before it received (a cycle's origin, an ordinary payer) forwarded nothing.

    Intermediaries of every flow rule must be pass-throughs; sources and sinks must not be
    (money that moves on from a sink is a longer chain: the layering rule's case).
-#}
{%- set ratio = pack_param('graph_pass_through_min_ratio') -%}
with

edges as (
    select * from {{ ref('int_customer_transfers_linked') }}
),

inflows as (
    select
        sink_customer_id as customer_id,
        count(*) as inflow_count,
        sum(amount_cny) as inflow_cny,
        min(transaction_at) as first_inflow_at
    from edges
    group by sink_customer_id
),

outflows as (
    select
        inflows.customer_id,
        count(*) as outflow_count,
        sum(edges.amount_cny) as outflow_cny
    from inflows
    inner join edges
        on edges.source_customer_id = inflows.customer_id
        and edges.transaction_at > inflows.first_inflow_at
    group by inflows.customer_id
),

final as (
    select
        inflows.customer_id,
        cast(inflows.inflow_count as integer) as inflow_count,
        cast(inflows.inflow_cny as decimal(18, 2)) as inflow_cny,
        inflows.first_inflow_at,
        cast(coalesce(outflows.outflow_count, 0) as integer) as outflow_count,
        cast(coalesce(outflows.outflow_cny, 0) as decimal(18, 2)) as outflow_cny,
        cast(coalesce(outflows.outflow_cny, 0) / inflows.inflow_cny as decimal(12, 6)) as forwarded_ratio,
        coalesce(outflows.outflow_cny, 0) >= {{ ratio }} * inflows.inflow_cny
            and coalesce(outflows.outflow_cny, 0) * {{ ratio }} <= inflows.inflow_cny as is_pass_through
    from inflows
    left join outflows on inflows.customer_id = outflows.customer_id
)

select * from final
