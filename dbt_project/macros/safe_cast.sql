{#-
    dbt.safe_cast promises null for a value the type cannot hold (Snowflake and Databricks
    try_cast, BigQuery safe_cast, Spark's non-ANSI cast); dbt-duckdb has no version of its
    own, so dbt's default, a plain cast, fails the whole build on one odd value (issue 14:
    an 18-character id_number that is no resident ID). DuckDB's try_cast keeps the promise.
    dbt.safe_cast dispatches through the root project first, so this applies to DuckDB only;
    every other adapter keeps its own (add `<adapter>__safe_cast` here if one does not).
-#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#-
    Spark 4 runs in ANSI mode, where a plain cast fails the query on a bad value; its
    try_cast returns null like DuckDB's.
-#}
{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
