{{ config(enabled=pack_defines(['graph_lookback_days', 'graph_min_amount_cny', 'graph_excluded_purposes', 'graph_pass_through_min_ratio', 'graph_window_days', 'bipartite_min_parties']), spark_materialize_ctes=true) }}
{#-
    One row per dense block of payments (bipartite, AMLworld): a set of source customers
    each paying bipartite_min_parties (m) or more of one set of sink customers within one
    window of graph_window_days calendar days. Set-based, per window (every window in the
    lookback, so they slide whatever the run cadence):
      1. payer-payee pairs, without pass-throughs on either side (money that moves on from
         a sink is a stack's layer: the layering rule's case);
      2. pruned twice to sources paying m or more sinks and sinks paid by m or more sources
         (a merchant's or landlord's payers, who pay nobody else, fall out here);
      3. for each source as seed: the sources sharing m or more sinks with it, the sinks
         paid by m or more of those, and the sources paying m or more of those sinks.
    The same block found from several seeds or windows is kept once (the earliest window),
    keyed by its first source and first sink (ids in order). block_degree is the least
    number of block partners of any source or sink of the block; the rule fires from m.
-#}
{%- set m = pack_param('bipartite_min_parties') -%}
with

{{ transfer_graph(windows=true) }},

flows as (
    select windows.window_end_date, edges.*
    from edges
    inner join windows
        on edges.transaction_date between windows.window_start_date and windows.window_end_date
    left join nodes as source_node on source_node.customer_id = edges.source_customer_id
    left join nodes as sink_node on sink_node.customer_id = edges.sink_customer_id
    where not coalesce(source_node.is_pass_through, false)
        and not coalesce(sink_node.is_pass_through, false)
),

pairs_0 as (
    select distinct window_end_date, source_customer_id, sink_customer_id from flows
),
{%- for round in range(2) %}

pairs_{{ round + 1 }} as (
    select pairs.*
    from pairs_{{ round }} as pairs
    {%- for side in ['source', 'sink'] %}
    inner join (
        select window_end_date, {{ side }}_customer_id from pairs_{{ round }}
        group by window_end_date, {{ side }}_customer_id having count(*) >= {{ m }}
    ) as {{ side }}s
        on {{ side }}s.window_end_date = pairs.window_end_date
        and {{ side }}s.{{ side }}_customer_id = pairs.{{ side }}_customer_id
    {%- endfor %}
),
{%- endfor %}

pairs as (
    select * from pairs_2
),

co_payers as (
    select seed.window_end_date, seed.source_customer_id as seed_customer_id, other.source_customer_id
    from pairs as seed
    inner join pairs as other
        on other.window_end_date = seed.window_end_date
        and other.sink_customer_id = seed.sink_customer_id
    group by seed.window_end_date, seed.source_customer_id, other.source_customer_id
    having count(*) >= {{ m }}
),

co_payer_pairs as (
    select co_payers.window_end_date, co_payers.seed_customer_id, pairs.source_customer_id, pairs.sink_customer_id
    from co_payers
    inner join pairs
        on pairs.window_end_date = co_payers.window_end_date
        and pairs.source_customer_id = co_payers.source_customer_id
),

block_sinks as (
    select window_end_date, seed_customer_id, sink_customer_id
    from co_payer_pairs
    group by window_end_date, seed_customer_id, sink_customer_id
    having count(*) >= {{ m }}
),

block_sources as (
    select co_payer_pairs.window_end_date, co_payer_pairs.seed_customer_id, co_payer_pairs.source_customer_id
    from co_payer_pairs
    inner join block_sinks
        on block_sinks.window_end_date = co_payer_pairs.window_end_date
        and block_sinks.seed_customer_id = co_payer_pairs.seed_customer_id
        and block_sinks.sink_customer_id = co_payer_pairs.sink_customer_id
    group by co_payer_pairs.window_end_date, co_payer_pairs.seed_customer_id, co_payer_pairs.source_customer_id
    having count(*) >= {{ m }}
),

block_pairs as (
    select co_payer_pairs.*
    from co_payer_pairs
    {%- for side in ['source', 'sink'] %}
    inner join block_{{ side }}s
        on block_{{ side }}s.window_end_date = co_payer_pairs.window_end_date
        and block_{{ side }}s.seed_customer_id = co_payer_pairs.seed_customer_id
        and block_{{ side }}s.{{ side }}_customer_id = co_payer_pairs.{{ side }}_customer_id
    {%- endfor %}
),
{%- for side in ['source', 'sink'] %}

{{ side }}_sides as (
    {#- each side of a block: its size, the least number of partners of its members in the block #}
    select
        window_end_date, seed_customer_id,
        count(*) as {{ side }}_count,
        min(degree) as min_{{ side }}_degree,
        min({{ side }}_customer_id) as first_{{ side }}_customer_id,
        {{ dbt.listagg(side ~ '_customer_id', "', '", 'order by ' ~ side ~ '_customer_id') }} as {{ side }}_ids
    from (
        select window_end_date, seed_customer_id, {{ side }}_customer_id, count(*) as degree
        from block_pairs group by window_end_date, seed_customer_id, {{ side }}_customer_id
    ) as degrees
    group by window_end_date, seed_customer_id
),
{%- endfor %}

blocks as (
    select
        source_sides.*,
        sink_sides.sink_count,
        sink_sides.min_sink_degree,
        sink_sides.first_sink_customer_id,
        sink_sides.sink_ids,
        '{' || source_sides.source_ids || '} > {' || sink_sides.sink_ids || '}' as customer_path
    from source_sides
    inner join sink_sides
        on sink_sides.window_end_date = source_sides.window_end_date
        and sink_sides.seed_customer_id = source_sides.seed_customer_id
),

kept as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by first_source_customer_id, first_sink_customer_id
                order by source_count * sink_count desc, window_end_date, customer_path, seed_customer_id
            ) as block_rank
        from blocks
    ) as ranked
    where block_rank = 1
),

block_transactions as (
    select
        kept.first_source_customer_id,
        kept.first_sink_customer_id,
        count(*) as edge_count,
        sum(flows.amount_cny) as amount_cny,
        min(flows.transaction_date) as first_date,
        max(flows.transaction_date) as last_date,
        {{ dbt.listagg('flows.transaction_id', "','", 'order by flows.transaction_at, flows.transaction_id') }} as transaction_ids
    from kept
    inner join block_pairs
        on block_pairs.window_end_date = kept.window_end_date
        and block_pairs.seed_customer_id = kept.seed_customer_id
    inner join flows
        on flows.window_end_date = block_pairs.window_end_date
        and flows.source_customer_id = block_pairs.source_customer_id
        and flows.sink_customer_id = block_pairs.sink_customer_id
    group by kept.first_source_customer_id, kept.first_sink_customer_id
),

final as (
    select
        {{ business_date() }} as business_date,
        kept.first_source_customer_id || '|' || kept.first_sink_customer_id as entity_key,
        kept.first_source_customer_id as customer_id,
        kept.first_sink_customer_id as sink_customer_id,
        cast(kept.source_count as integer) as source_count,
        cast(kept.sink_count as integer) as sink_count,
        cast(case when kept.min_source_degree < kept.min_sink_degree
            then kept.min_source_degree else kept.min_sink_degree end as integer) as block_degree,
        cast(block_transactions.edge_count as integer) as edge_count,
        block_transactions.first_date as window_start_date,
        block_transactions.last_date as window_end_date,
        cast(block_transactions.amount_cny as decimal(18, 2)) as amount_cny,
        kept.customer_path,
        block_transactions.transaction_ids
    from kept
    inner join block_transactions
        on block_transactions.first_source_customer_id = kept.first_source_customer_id
        and block_transactions.first_sink_customer_id = kept.first_sink_customer_id
)

select * from final
