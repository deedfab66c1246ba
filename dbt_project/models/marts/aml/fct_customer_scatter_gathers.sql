{{ config(enabled=pack_defines(['graph_lookback_days', 'graph_min_amount_cny', 'graph_excluded_purposes', 'graph_pass_through_min_ratio', 'graph_window_days']), spark_materialize_ctes=true) }}
{#-
    One row per (source, sink) pair of customers that money went between through two or
    more intermediaries (scatter-gather, AMLworld): the source paid each intermediary, the
    intermediary paid the sink later (time-ordered hops), forwarding between
    graph_pass_through_min_ratio and its inverse of what it got from the source, both hops
    within graph_window_days of each other. The rule counts the intermediaries that fit in
    one window of graph_window_days calendar days (every window start in the lookback is
    tried, so the windows slide whatever the run cadence); the best window (most
    intermediaries, then the earliest) is kept.

    Source and sink must not be pass-throughs themselves (int_customer_pass_throughs_measured):
    money that moves on from the sink, or reached the source through the graph, is a longer
    chain (the layering rule's case, or the inner part of a stack). Benign look-alikes do not
    qualify: a payroll is no edge (graph_excluded_purposes), friends who pay a shared bill
    forward a small share of what they got.
-#}
{%- set ratio = pack_param('graph_pass_through_min_ratio') -%}
{%- set window_days = pack_param('graph_window_days') -%}
with

{{ transfer_graph() }},

legs as (
    select
        scatter.source_customer_id,
        scatter.sink_customer_id as intermediary_customer_id,
        gather.sink_customer_id,
        scatter.transaction_id as scatter_transaction_id,
        scatter.transaction_at as scatter_at,
        scatter.transaction_date as scatter_date,
        scatter.amount_cny as scatter_amount_cny,
        gather.transaction_id as gather_transaction_id,
        gather.transaction_at as gather_at,
        gather.transaction_date as gather_date,
        gather.amount_cny as gather_amount_cny
    from edges as scatter
    inner join edges as gather
        on gather.source_customer_id = scatter.sink_customer_id
        and gather.transaction_at > scatter.transaction_at
        and gather.sink_customer_id <> scatter.source_customer_id
    left join nodes as source_node on source_node.customer_id = scatter.source_customer_id
    left join nodes as sink_node on sink_node.customer_id = gather.sink_customer_id
    where {{ dbt.datediff('scatter.transaction_date', 'gather.transaction_date', 'day') }} < {{ window_days }}
        and not coalesce(source_node.is_pass_through, false)
        and not coalesce(sink_node.is_pass_through, false)
),

scatters as (
    select distinct
        source_customer_id, intermediary_customer_id, sink_customer_id,
        scatter_transaction_id as transaction_id, scatter_at as transaction_at,
        scatter_date as transaction_date, scatter_amount_cny as amount_cny
    from legs
),

gathers as (
    select distinct
        source_customer_id, intermediary_customer_id, sink_customer_id,
        gather_transaction_id as transaction_id, gather_at as transaction_at,
        gather_date as transaction_date, gather_amount_cny as amount_cny
    from legs
),

scatter_sums as (
    select
        source_customer_id, intermediary_customer_id, sink_customer_id,
        sum(amount_cny) as scatter_cny,
        min(transaction_date) as first_date
    from scatters
    group by source_customer_id, intermediary_customer_id, sink_customer_id
),

gather_sums as (
    select
        source_customer_id, intermediary_customer_id, sink_customer_id,
        sum(amount_cny) as gather_cny,
        max(transaction_date) as last_date
    from gathers
    group by source_customer_id, intermediary_customer_id, sink_customer_id
),

intermediaries as (
    select
        scatter_sums.source_customer_id,
        scatter_sums.intermediary_customer_id,
        scatter_sums.sink_customer_id,
        scatter_sums.scatter_cny,
        gather_sums.gather_cny,
        scatter_sums.first_date,
        gather_sums.last_date
    from scatter_sums
    inner join gather_sums
        on scatter_sums.source_customer_id = gather_sums.source_customer_id
        and scatter_sums.intermediary_customer_id = gather_sums.intermediary_customer_id
        and scatter_sums.sink_customer_id = gather_sums.sink_customer_id
    where gather_sums.gather_cny >= {{ ratio }} * scatter_sums.scatter_cny
        and gather_sums.gather_cny * {{ ratio }} <= scatter_sums.scatter_cny
),

windows as (
    select
        anchors.source_customer_id,
        anchors.sink_customer_id,
        anchors.first_date as window_start,
        count(*) as intermediary_count
    from (select distinct source_customer_id, sink_customer_id, first_date from intermediaries) as anchors
    inner join intermediaries
        on intermediaries.source_customer_id = anchors.source_customer_id
        and intermediaries.sink_customer_id = anchors.sink_customer_id
        and intermediaries.first_date >= anchors.first_date
        and {{ dbt.datediff('anchors.first_date', 'intermediaries.last_date', 'day') }} < {{ window_days }}
    group by anchors.source_customer_id, anchors.sink_customer_id, anchors.first_date
),

best as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by source_customer_id, sink_customer_id
                order by intermediary_count desc, window_start
            ) as window_rank
        from windows
    ) as ranked
    where window_rank = 1 and intermediary_count >= 2
),

members as (
    select intermediaries.*
    from best
    inner join intermediaries
        on intermediaries.source_customer_id = best.source_customer_id
        and intermediaries.sink_customer_id = best.sink_customer_id
        and intermediaries.first_date >= best.window_start
        and {{ dbt.datediff('best.window_start', 'intermediaries.last_date', 'day') }} < {{ window_days }}
),

member_transactions as (
    {%- for half in ['scatters', 'gathers'] %}
    {% if not loop.first %}union all{% endif %}
    select {{ half }}.intermediary_customer_id, {{ half }}.source_customer_id, {{ half }}.sink_customer_id,
        {{ half }}.transaction_id, {{ half }}.transaction_at
    from {{ half }}
    inner join members
        on {{ half }}.source_customer_id = members.source_customer_id
        and {{ half }}.intermediary_customer_id = members.intermediary_customer_id
        and {{ half }}.sink_customer_id = members.sink_customer_id
    {%- endfor %}
),

transaction_lists as (
    select
        source_customer_id,
        sink_customer_id,
        {{ dbt.listagg('transaction_id', "','", 'order by intermediary_customer_id, transaction_at, transaction_id') }} as transaction_ids
    from member_transactions
    group by source_customer_id, sink_customer_id
),

summed as (
    select
        source_customer_id,
        sink_customer_id,
        cast(count(*) as integer) as intermediary_count,
        min(first_date) as window_start_date,
        max(last_date) as window_end_date,
        cast(sum(scatter_cny) as decimal(18, 2)) as scattered_cny,
        cast(sum(gather_cny) as decimal(18, 2)) as gathered_cny,
        {{ dbt.listagg('intermediary_customer_id', "', '", 'order by intermediary_customer_id') }} as intermediary_ids
    from members
    group by source_customer_id, sink_customer_id
),

final as (
    select
        {{ business_date() }} as business_date,
        summed.source_customer_id || '|' || summed.sink_customer_id as entity_key,
        summed.source_customer_id as customer_id,
        summed.sink_customer_id,
        summed.intermediary_count,
        summed.window_start_date,
        summed.window_end_date,
        cast({{ dbt.datediff('summed.window_start_date', 'summed.window_end_date', 'day') }} + 1 as integer) as span_days,
        summed.scattered_cny,
        summed.gathered_cny,
        cast(summed.gathered_cny / summed.scattered_cny as decimal(12, 6)) as gathered_ratio,
        summed.source_customer_id || ' > {' || summed.intermediary_ids || '} > ' || summed.sink_customer_id as customer_path,
        transaction_lists.transaction_ids
    from summed
    inner join transaction_lists
        on summed.source_customer_id = transaction_lists.source_customer_id
        and summed.sink_customer_id = transaction_lists.sink_customer_id
)

select * from final
