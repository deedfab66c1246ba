{#- The business date D as a SQL date literal; every "as of D" model uses it. -#}
{% macro business_date() -%}
    {%- set value = var('business_date') -%}
    {%- if value is none or value == '' -%}
        {{ exceptions.raise_compiler_error("var business_date is required (YYYY-MM-DD): regwatch passes it") }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}
