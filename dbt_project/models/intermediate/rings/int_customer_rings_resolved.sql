{#-
    One row per customer that shares a link with another: the connected component
    (ring) of the customer-link graph it belongs to, named by its smallest customer id.
    The SQL is the macro customer_rings (a recursive CTE; on Spark, which runs recursive
    CTEs with UNION ALL only, label propagation): macros/customer_rings.sql.
-#}
{{ customer_rings(ref('int_customer_links_collected')) }}
