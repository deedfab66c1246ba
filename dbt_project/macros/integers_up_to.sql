{#-
    A one-column relation `n` with the integers 1..upper (upper: a constant).

    No standard SQL makes a series of integers: each adapter has its own table function,
    dispatched here (DuckDB's range(), Spark's explode(sequence())); another adapter adds
    its `<adapter>__integers_up_to`.
-#}
{% macro integers_up_to(upper) %}
    {{- return(adapter.dispatch('integers_up_to')(upper)) -}}
{% endmacro %}

{% macro duckdb__integers_up_to(upper) -%}
    select cast(range as integer) as n from range(1, {{ upper }} + 1)
{%- endmacro %}

{% macro spark__integers_up_to(upper) -%}
    select cast(n as integer) as n from (select explode(sequence(1, {{ upper }})) as n) as integers
{%- endmacro %}

{% macro default__integers_up_to(upper) -%}
    {{ exceptions.raise_compiler_error("integers_up_to: add a branch for adapter " ~ target.type) }}
{%- endmacro %}
