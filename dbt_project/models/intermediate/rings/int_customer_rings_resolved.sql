{#-
    One row per customer that shares a link with another: the connected component
    (ring) of the customer-link graph it belongs to, named by its smallest customer id.
    Reachability by a recursive CTE (SQL:1999, DuckDB, Postgres, Snowflake, BigQuery,
    Databricks): UNION discards pairs already found, so it ends at the closure.
-#}
with recursive

links as (
    select * from {{ ref('int_customer_links_collected') }}
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
