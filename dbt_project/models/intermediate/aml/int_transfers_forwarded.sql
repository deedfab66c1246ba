{{ config(enabled=pack_defines(['graph_lookback_days', 'graph_min_amount_cny', 'graph_excluded_purposes', 'graph_pass_through_min_ratio', 'graph_window_days'])) }}
{#-
    One row per pair of edges of the transfer graph (int_customer_transfers_linked) through the
    same customer where the outflow passes the inflow on: the customer paid it later than it
    received the inflow, within graph_window_days of it, and either

    - the outflow's amount is between graph_pass_through_min_ratio and its inverse of the
      inflow's (is_amount_matched: this flow was forwarded, whatever else the customer received
      and kept; AMLworld shares accounts between attempts, so a sink of one pattern can be an
      intermediary of another on the same day, and its aggregate ratio says nothing of the
      flow), or
    - the customer is a pass-through in aggregate (int_customer_pass_throughs_measured: a layer
      of a stack receives several legs and pays several, none of which matches one leg).

    The layering rule extends a chain only along these pairs. A merchant, a family member or a
    sink that keeps what it receives forwards nothing of it: no pair, unless one of its later
    payments happens to match one receipt's amount within the window.
-#}
{%- set ratio = pack_param('graph_pass_through_min_ratio') -%}
with

{{ transfer_graph() }},

pairs as (
    select
        inflow.sink_customer_id as customer_id,
        inflow.transaction_id as inflow_transaction_id,
        outflow.transaction_id as outflow_transaction_id,
        inflow.transaction_at as inflow_at,
        outflow.transaction_at as outflow_at,
        inflow.amount_cny as inflow_cny,
        outflow.amount_cny as outflow_cny,
        outflow.amount_cny >= {{ ratio }} * inflow.amount_cny
            and outflow.amount_cny * {{ ratio }} <= inflow.amount_cny as is_amount_matched,
        coalesce(nodes.is_pass_through, false) as is_customer_pass_through
    from edges as inflow
    inner join edges as outflow
        on outflow.source_customer_id = inflow.sink_customer_id
        and outflow.transaction_at > inflow.transaction_at
    left join nodes on nodes.customer_id = inflow.sink_customer_id
    where {{ dbt.datediff('inflow.transaction_date', 'outflow.transaction_date', 'day') }} < {{ pack_param('graph_window_days') }}
),

final as (
    select
        customer_id,
        inflow_transaction_id,
        outflow_transaction_id,
        inflow_at,
        outflow_at,
        cast(inflow_cny as decimal(18, 2)) as inflow_cny,
        cast(outflow_cny as decimal(18, 2)) as outflow_cny,
        is_amount_matched,
        is_customer_pass_through
    from pairs
    where is_amount_matched or is_customer_pass_through
)

select * from final
