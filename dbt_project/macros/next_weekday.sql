{#-
    The next weekday (Monday to Friday) after a date: business days are weekdays, as in the
    generator and the daily DAG's timetable. The day of the week has no standard SQL:
    DuckDB's isodow (1 = Monday), Spark's dayofweek (1 = Sunday), dispatched here.
-#}
{% macro next_weekday(day) -%}
    {{- return(adapter.dispatch('next_weekday')(day)) -}}
{%- endmacro %}

{% macro duckdb__next_weekday(day) -%}
    cast({{ day }} + case extract(isodow from {{ day }}) when 5 then 3 when 6 then 2 else 1 end as date)
{%- endmacro %}

{% macro spark__next_weekday(day) -%}
    date_add({{ day }}, case dayofweek({{ day }}) when 6 then 3 when 7 then 2 else 1 end)
{%- endmacro %}

{% macro default__next_weekday(day) -%}
    {{ exceptions.raise_compiler_error("next_weekday: add a branch for adapter " ~ target.type) }}
{%- endmacro %}
