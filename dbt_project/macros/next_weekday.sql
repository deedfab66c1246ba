{#-
    The next weekday (Monday to Friday) after a date: business days are weekdays, as in the
    generator and the daily DAG's timetable. DuckDB has isodow; another adapter adds its
    branch here (Spark: dayofweek, 1 = Sunday).
-#}
{% macro next_weekday(day) -%}
    {%- if target.type == 'duckdb' -%}
        cast({{ day }} + case extract(isodow from {{ day }}) when 5 then 3 when 6 then 2 else 1 end as date)
    {%- else -%}
        {{ exceptions.raise_compiler_error("next_weekday: add a branch for adapter " ~ target.type) }}
    {%- endif -%}
{%- endmacro %}
