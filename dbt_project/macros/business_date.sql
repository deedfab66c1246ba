{#-
    The business date D as a SQL date literal; every "as of D" model uses it.

    regwatch passes D in the environment (REGWATCH_BUSINESS_DATE), read only while dbt
    executes: dbt re-parses the whole project whenever --vars change, and D changes every
    day, while the graph does not. Reading it only when ``execute`` is true keeps it out of
    what dbt records at parse time, so a new date reuses the previous day's parse
    (regwatch.transform). A dbt var business_date, when given (the dbt unit tests'
    ``overrides``, a hand-run ``dbt build --vars``), wins.
-#}
{% macro business_date() -%}
    {%- set value = var('business_date', none) -%}
    {%- if (value is none or value == '') and execute -%}
        {%- set value = env_var('REGWATCH_BUSINESS_DATE', '') -%}
    {%- endif -%}
    {%- if value is none or value == '' -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error("the business date is required (YYYY-MM-DD): regwatch passes it as REGWATCH_BUSINESS_DATE") }}
        {%- endif -%}
        cast(null as date)
    {%- else -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}
