{#-
    A one-column relation `n` with the integers 1..upper (upper: a constant).

    DuckDB has a range() table function; another adapter adds its own branch here
    (Spark: `select explode(sequence(1, upper)) as n`).
-#}
{% macro integers_up_to(upper) %}
    {%- if target.type == 'duckdb' -%}
        select cast(range as integer) as n from range(1, {{ upper }} + 1)
    {%- else -%}
        {{ exceptions.raise_compiler_error("integers_up_to: add a branch for adapter " ~ target.type) }}
    {%- endif -%}
{% endmacro %}
