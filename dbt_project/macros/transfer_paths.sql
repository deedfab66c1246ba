{#-
    A path of transfers walked by a recursive CTE (int_transfer_cycles_traced,
    fct_customer_layering_chains), carried in four columns in this order: hop_count,
    node_path (its customers as '|A|B|C|', for the distinct-customer test: dbt.position is
    portable), customer_path ('A > B > C', the evidence) and transaction_ids ('t1,t2').

    path_started: the columns of a path of one transfer from ``from_customer`` to
    ``to_customer``; path_extended: those of the path ``path`` (the recursive CTE's alias)
    extended by a transfer to ``to_customer``; path_may_reach: whether that transfer keeps
    the customers distinct, or closes the path at its origin.
-#}
{% macro path_started(from_customer, to_customer, transaction_id) -%}
        1,
        cast('|' || {{ from_customer }} || '|' || {{ to_customer }} || '|' as {{ dbt.type_string() }}),
        cast({{ from_customer }} || ' > ' || {{ to_customer }} as {{ dbt.type_string() }}),
        cast({{ transaction_id }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro path_extended(path, to_customer, transaction_id) -%}
        {{ path }}.hop_count + 1,
        {{ path }}.node_path || {{ to_customer }} || '|',
        {{ path }}.customer_path || ' > ' || {{ to_customer }},
        {{ path }}.transaction_ids || ',' || {{ transaction_id }}
{%- endmacro %}

{% macro path_may_reach(path, to_customer) -%}
        (
            {{ to_customer }} = {{ path }}.origin_customer_id
            or {{ dbt.position("'|' || " ~ to_customer ~ " || '|'", path ~ '.node_path') }} = 0
        )
{%- endmacro %}
