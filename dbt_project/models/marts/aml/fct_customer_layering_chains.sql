{{ config(enabled=pack_defines(['graph_lookback_days', 'graph_min_amount_cny', 'graph_excluded_purposes', 'graph_pass_through_min_ratio', 'graph_window_days', 'layering_max_hops'])) }}
{#-
    One row per origin customer whose money passed through two or more layers of
    intermediaries (stack and random-walk layering, AMLworld): a chain of time-ordered
    edges of the transfer graph origin > I1 > I2 > ... > sink, every hop passing the previous
    one on (int_transfers_forwarded, measured per flow: the intermediary paid out between
    graph_pass_through_min_ratio and its inverse of that inflow's amount, or it is a
    pass-through in aggregate, a stack's layer), all within graph_window_days of the first
    hop, every customer distinct, at most layering_max_hops hops. The origin is not a
    pass-through itself (where the money entered the graph). Per flow, not per customer: an
    account shared between attempts (a sink of a bipartite block that is also a random walk's
    intermediary the same day) keeps one flow and forwards the other.

    One recursive CTE extends each chain by an edge that forwards its last edge. Only maximal chains count (no further hop possible); a chain
    whose next hop returns to the origin is a cycle and left to the cycle rule, so are its
    prefixes (the closing hop is followed even beyond layering_max_hops, so a cycle too long
    for the cycle rule is not reported as layering either). Per origin the longest chain (then the earliest, then by transaction ids)
    explains the row, and chains_found counts them all (a stack of widths 3 x 3 x 3 from one
    source: 27). Benign look-alikes stop early: a salary is no edge, a merchant or a family
    member keeps what it receives (not a pass-through), small amounts are under
    graph_min_amount_cny.
-#}
{%- set window_days = pack_param('graph_window_days') -%}
with recursive

{{ transfer_graph() }},

forwarded as (
    select * from {{ ref('int_transfers_forwarded') }}
),

chains (
    origin_customer_id, first_transaction_id, first_at, first_date, last_customer_id, last_at,
    last_transaction_id, hop_count, node_path, customer_path, transaction_ids, parent_transaction_ids, hop_amounts,
    is_closed
) as (
    select
        edges.source_customer_id,
        edges.transaction_id,
        edges.transaction_at,
        edges.transaction_date,
        edges.sink_customer_id,
        edges.transaction_at,
        edges.transaction_id,
        {{ path_started('edges.source_customer_id', 'edges.sink_customer_id', 'edges.transaction_id') }},
        cast(null as {{ dbt.type_string() }}),
        cast(cast(edges.amount_cny as decimal(18, 2)) as {{ dbt.type_string() }}),
        false
    from edges
    left join nodes on nodes.customer_id = edges.source_customer_id
    where not coalesce(nodes.is_pass_through, false)
    union all
    select
        chains.origin_customer_id,
        chains.first_transaction_id,
        chains.first_at,
        chains.first_date,
        edges.sink_customer_id,
        edges.transaction_at,
        edges.transaction_id,
        {{ path_extended('chains', 'edges.sink_customer_id', 'edges.transaction_id') }},
        chains.transaction_ids,
        chains.hop_amounts || '; ' || cast(cast(edges.amount_cny as decimal(18, 2)) as {{ dbt.type_string() }}),
        edges.sink_customer_id = chains.origin_customer_id
    from chains
    inner join forwarded on forwarded.inflow_transaction_id = chains.last_transaction_id
    inner join edges on edges.transaction_id = forwarded.outflow_transaction_id
    where not chains.is_closed
        and (
            chains.hop_count < {{ pack_param('layering_max_hops') }}
            or edges.sink_customer_id = chains.origin_customer_id
        )
        and {{ dbt.datediff('chains.first_date', 'edges.transaction_date', 'day') }} < {{ window_days }}
        and {{ path_may_reach('chains', 'edges.sink_customer_id') }}
),

maximal as (
    select chains.*
    from chains
    where not chains.is_closed
        and chains.hop_count >= 3
        and not exists (
            select 1 from chains as longer
            where longer.first_transaction_id = chains.first_transaction_id
                and longer.parent_transaction_ids = chains.transaction_ids
        )
),

ranked as (
    select
        *,
        count(*) over (partition by origin_customer_id) as chains_found,
        row_number() over (
            partition by origin_customer_id
            order by hop_count desc, first_at, transaction_ids
        ) as chain_rank
    from maximal
),

final as (
    select
        {{ business_date() }} as business_date,
        ranked.origin_customer_id as entity_key,
        ranked.origin_customer_id as customer_id,
        ranked.first_transaction_id,
        cast(ranked.hop_count - 1 as integer) as intermediary_count,
        cast(ranked.hop_count as integer) as hop_count,
        ranked.first_at,
        ranked.last_at,
        ranked.first_date as window_start_date,
        cast(ranked.last_at as date) as window_end_date,
        ranked.last_customer_id as sink_customer_id,
        ranked.customer_path,
        ranked.transaction_ids,
        ranked.hop_amounts,
        cast(ranked.chains_found as integer) as chains_found
    from ranked
    where ranked.chain_rank = 1
)

select * from final
