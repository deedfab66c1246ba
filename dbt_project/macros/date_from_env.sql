{#-
    A date regwatch passes in the environment (``env_name``), as a SQL date literal; a dbt
    var ``var_name``, when given, wins. The environment is read only while dbt executes:
    dbt re-parses the whole project whenever --vars change, and these dates change every
    day while the graph does not, so keeping them out of what dbt records at parse time
    lets a new date reuse the previous day's parse (regwatch.transform).

    Absent, the date is ``cast(null as date)``, or, where ``required`` (evaluated only while
    dbt executes), a compiler error saying ``message``.
-#}
{% macro date_from_env(env_name, required, message, var_name=none) -%}
    {%- set value = var(var_name, none) if var_name is not none else none -%}
    {%- if (value is none or value == '') and execute -%}
        {%- set value = env_var(env_name, '') -%}
    {%- endif -%}
    {%- if value is none or value == '' -%}
        {%- if execute and required -%}
            {{ exceptions.raise_compiler_error(message) }}
        {%- endif -%}
        cast(null as date)
    {%- else -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}
