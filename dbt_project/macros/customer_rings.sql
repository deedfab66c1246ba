{#-
    The rings of int_customer_rings_resolved: one row per customer of `links` with the
    connected component of the customer-link graph it belongs to (ring_id, its smallest
    customer id) and the component's size.

    default__: reachability by a recursive CTE (SQL:1999, DuckDB, Postgres, Snowflake,
    BigQuery, Databricks): UNION discards pairs already found, so it ends at the closure.

    spark__: Spark 4.3 runs recursive CTEs with UNION ALL only
    (UNION_NOT_SUPPORTED_IN_RECURSIVE_CTE), and a walk of reached pairs with UNION ALL
    never ends on a graph with a cycle (every ring has one). So each step of the recursion
    carries one row per customer with the sorted set of customers it reaches (an array),
    grown by the neighbours of every member (the adjacency as one map, not the recursive
    relation: Spark allows no aggregate over it); a customer's walk ends on the first step
    that adds no one, whose row is its closure: the same set the default's pairs hold.
    Steps are at most the ring's diameter plus one; beyond Spark's recursion level limit
    (100) the build fails (RECURSION_LEVEL_LIMIT_EXCEEDED), never a ring split silently.
-#}
{% macro customer_rings(links) %}
    {{- return(adapter.dispatch('customer_rings')(links)) -}}
{% endmacro %}

{#- The CTEs both engines start from: `links`, and `edges` between two customers sharing a
    link (same type and value), in both directions. -#}
{% macro customer_link_edges(links) -%}
links as (
    select * from {{ links }}
),

edges as (
    select distinct
        one.customer_id as from_customer_id,
        other.customer_id as to_customer_id
    from links as one
    inner join links as other
        on one.link_type = other.link_type
        and one.link_value = other.link_value
        and one.customer_id <> other.customer_id
),
{%- endmacro %}

{% macro default__customer_rings(links) -%}
with recursive

{{ customer_link_edges(links) }}

reach (customer_id, reached_customer_id) as (
    select distinct customer_id, customer_id from links
    union
    select reach.customer_id, edges.to_customer_id
    from reach
    inner join edges on reach.reached_customer_id = edges.from_customer_id
),

final as (
    select
        customer_id,
        min(reached_customer_id) as ring_id,
        cast(count(distinct reached_customer_id) as integer) as ring_customer_count
    from reach
    group by customer_id
)

select * from final
{%- endmacro %}

{% macro spark__customer_rings(links) -%}
with recursive

{{ customer_link_edges(links) }}

adjacency as (
    select map_from_entries(collect_list(struct(from_customer_id, neighbours))) as neighbours_of
    from (
        select from_customer_id, collect_set(to_customer_id) as neighbours
        from edges
        group by from_customer_id
    ) as lists
),

reach (customer_id, reached, is_growing) as (
    select distinct customer_id, array(customer_id), true from links
    union all
    select customer_id, reached, size(reached) > previous_size
    from (
        select
            reach.customer_id,
            array_sort(array_distinct(concat(
                reach.reached,
                flatten(transform(
                    reach.reached,
                    member -> coalesce(try_element_at(adjacency.neighbours_of, member), cast(array() as array<string>))
                ))
            ))) as reached,
            size(reach.reached) as previous_size
        from reach
        cross join adjacency
        where reach.is_growing
    ) as stepped
),

final as (
    select
        customer_id,
        array_min(reached) as ring_id,
        cast(size(reached) as integer) as ring_customer_count
    from reach
    where not is_growing
)

select * from final
{%- endmacro %}
