{#-
    Date arithmetic on Spark with DuckDB's semantics. dbt-spark's own dateadd and datediff
    wrap every operand in assert_not_null (a null date fails the whole query, where DuckDB
    and dbt's other adapters return null: e.g. a repayment not yet paid has no days late),
    and its dateadd goes through Unix seconds. Spark 4 has SQL's own functions:
    timestampadd (a timestamp, as DuckDB's date + interval; a month added to the 31st
    lands on the month's last day in both) and datediff of dates (day boundaries crossed,
    as DuckDB's datediff('day', ...)). dbt.dateadd / dbt.datediff dispatch through the root
    project first, so these replace dbt-spark's on Spark only.
-#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- if datepart | lower not in ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'] -%}
        {{ exceptions.raise_compiler_error("dateadd: datepart " ~ datepart ~ " is not supported on Spark") }}
    {%- endif -%}
    timestampadd({{ datepart | upper }}, cast({{ interval }} as bigint), {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart | lower != 'day' -%}
        {{ exceptions.raise_compiler_error("datediff: only datepart day is supported on Spark, not " ~ datepart) }}
    {%- endif -%}
    datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
{%- endmacro %}
