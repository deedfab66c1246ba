{{ config(enabled=pack_defines(['graph_lookback_days', 'graph_min_amount_cny', 'graph_excluded_purposes', 'graph_pass_through_min_ratio', 'graph_window_days']), spark_materialize_ctes=true) }}
{#-
    One row per hub customer that collected money from two or more sources and paid it on to
    two or more sinks within one window of graph_window_days calendar days (gather-scatter,
    AMLworld): the payments out counted are those after the hub's first receipt in the
    window, and together they are between graph_pass_through_min_ratio and its inverse of
    what it collected. Every window in the lookback is tried (windows ending on each of the
    last graph_lookback_days - graph_window_days + 1 days, so they slide whatever the run
    cadence); the best (most sources and sinks, then the earliest) is kept. The rule counts
    the smaller side.

    Sources and sinks that are pass-throughs themselves are not counted: a hub fed by or
    feeding intermediaries is a layer of a stack (the layering rule's case). A merchant's
    takings fan in without being paid on; a payroll is no edge (graph_excluded_purposes).
-#}
{%- set ratio = pack_param('graph_pass_through_min_ratio') -%}
with

{{ transfer_graph(windows=true) }},

ends as (
    select edges.*
    from edges
    left join nodes on nodes.customer_id = edges.source_customer_id
    where not coalesce(nodes.is_pass_through, false)
),

starts as (
    select edges.*
    from edges
    left join nodes on nodes.customer_id = edges.sink_customer_id
    where not coalesce(nodes.is_pass_through, false)
),

gathered as (
    select
        windows.window_end_date,
        ends.sink_customer_id as hub_customer_id,
        ends.source_customer_id,
        ends.transaction_id,
        ends.transaction_at,
        ends.transaction_date,
        ends.amount_cny
    from ends
    inner join windows
        on ends.transaction_date between windows.window_start_date and windows.window_end_date
),

first_receipts as (
    select window_end_date, hub_customer_id, min(transaction_at) as first_inflow_at
    from gathered
    group by window_end_date, hub_customer_id
),

scattered as (
    select
        windows.window_end_date,
        starts.source_customer_id as hub_customer_id,
        starts.sink_customer_id,
        starts.transaction_id,
        starts.transaction_at,
        starts.transaction_date,
        starts.amount_cny
    from starts
    inner join windows
        on starts.transaction_date between windows.window_start_date and windows.window_end_date
    inner join first_receipts
        on first_receipts.window_end_date = windows.window_end_date
        and first_receipts.hub_customer_id = starts.source_customer_id
        and starts.transaction_at > first_receipts.first_inflow_at
),

gathered_sums as (
    select
        window_end_date, hub_customer_id,
        count(distinct source_customer_id) as source_count,
        sum(amount_cny) as inflow_cny,
        min(transaction_date) as first_date
    from gathered
    group by window_end_date, hub_customer_id
),

scattered_sums as (
    select
        window_end_date, hub_customer_id,
        count(distinct sink_customer_id) as sink_count,
        sum(amount_cny) as outflow_cny,
        max(transaction_date) as last_date
    from scattered
    group by window_end_date, hub_customer_id
),

candidates as (
    select
        gathered_sums.*,
        scattered_sums.sink_count,
        scattered_sums.outflow_cny,
        scattered_sums.last_date,
        row_number() over (
            partition by gathered_sums.hub_customer_id
            order by
                case when gathered_sums.source_count < scattered_sums.sink_count
                    then gathered_sums.source_count else scattered_sums.sink_count end desc,
                gathered_sums.source_count + scattered_sums.sink_count desc,
                gathered_sums.window_end_date
        ) as window_rank
    from gathered_sums
    inner join scattered_sums
        on gathered_sums.window_end_date = scattered_sums.window_end_date
        and gathered_sums.hub_customer_id = scattered_sums.hub_customer_id
    where gathered_sums.source_count >= 2
        and scattered_sums.sink_count >= 2
        and scattered_sums.outflow_cny >= {{ ratio }} * gathered_sums.inflow_cny
        and scattered_sums.outflow_cny * {{ ratio }} <= gathered_sums.inflow_cny
),

best as (
    select * from candidates where window_rank = 1
),

flows as (
    select gathered.hub_customer_id, gathered.transaction_id, gathered.transaction_at,
        gathered.source_customer_id as party_customer_id, 'in' as side
    from gathered
    inner join best
        on gathered.window_end_date = best.window_end_date and gathered.hub_customer_id = best.hub_customer_id
    union all
    select scattered.hub_customer_id, scattered.transaction_id, scattered.transaction_at,
        scattered.sink_customer_id as party_customer_id, 'out' as side
    from scattered
    inner join best
        on scattered.window_end_date = best.window_end_date and scattered.hub_customer_id = best.hub_customer_id
),

lists as (
    select
        hub_customer_id,
        {{ dbt.listagg('transaction_id', "','", 'order by transaction_at, transaction_id') }} as transaction_ids
    from flows
    group by hub_customer_id
),

source_lists as (
    select hub_customer_id, {{ dbt.listagg('party_customer_id', "', '", 'order by party_customer_id') }} as source_ids
    from (select distinct hub_customer_id, party_customer_id from flows where side = 'in') as parties
    group by hub_customer_id
),

sink_lists as (
    select hub_customer_id, {{ dbt.listagg('party_customer_id', "', '", 'order by party_customer_id') }} as sink_ids
    from (select distinct hub_customer_id, party_customer_id from flows where side = 'out') as parties
    group by hub_customer_id
),

final as (
    select
        {{ business_date() }} as business_date,
        best.hub_customer_id as entity_key,
        best.hub_customer_id as customer_id,
        cast(best.source_count as integer) as source_count,
        cast(best.sink_count as integer) as sink_count,
        cast(case when best.source_count < best.sink_count then best.source_count else best.sink_count end as integer)
            as counterparty_count,
        best.first_date as window_start_date,
        best.last_date as window_end_date,
        cast(best.inflow_cny as decimal(18, 2)) as inflow_cny,
        cast(best.outflow_cny as decimal(18, 2)) as outflow_cny,
        cast(best.outflow_cny / best.inflow_cny as decimal(12, 6)) as forwarded_ratio,
        '{' || source_lists.source_ids || '} > ' || best.hub_customer_id || ' > {' || sink_lists.sink_ids || '}'
            as customer_path,
        lists.transaction_ids
    from best
    inner join lists on lists.hub_customer_id = best.hub_customer_id
    inner join source_lists on source_lists.hub_customer_id = best.hub_customer_id
    inner join sink_lists on sink_lists.hub_customer_id = best.hub_customer_id
)

select * from final
