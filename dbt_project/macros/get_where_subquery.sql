{#-
    dbt's get_where_subquery (a data test's ``where`` config), with one placeholder of
    ours: ``__delivered_since_last_build__`` is the rows a load after the last build brought
    (loaded_business_date after REGWATCH_BUILT_THROUGH) in an incremental build, and every
    row in a full refresh. A key test of an incremental table over its whole history would
    make a day's cost grow with the history; the rows kept were tested when they were built,
    and delete+insert replaces every key a new row brings, so testing the new rows keeps the
    table's keys unique (issue 17; regwatch.transform).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__delivered_since_last_build__' in where -%}
        {%- set since = env_var('REGWATCH_BUILT_THROUGH', '') if execute else '' -%}
        {%- set condition = "loaded_business_date > cast('" ~ since ~ "' as date)" if since else '1 = 1' -%}
        {%- set where = where | replace('__delivered_since_last_build__', condition) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
