{#-
    dbt-spark's listagg collects with collect_list and drops the ORDER BY (with only a
    warning): evidence strings (the transaction ids of a window, the lines a day reached)
    would come out in whatever order the executors finished, and so would the exception
    rows, the reports and the ledger's hashes. Spark 4 has SQL's own ordered aggregate,
    listagg(x, delimiter) WITHIN GROUP (ORDER BY ...): dbt.listagg dispatches through the
    root project first, so this replaces dbt-spark's on Spark only. DuckDB keeps
    dbt-duckdb's string_agg(... order by ...).
-#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg: limit_num is not supported on Spark") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }})
    {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}
