{#-
    The business date D as a SQL date literal; every "as of D" model uses it.

    regwatch passes D in the environment (REGWATCH_BUSINESS_DATE), read only while dbt
    executes (date_from_env). A dbt var business_date, when given (the dbt unit tests'
    ``overrides``, a hand-run ``dbt build --vars``), wins.
-#}
{% macro business_date() -%}
    {{- date_from_env(
        'REGWATCH_BUSINESS_DATE', true,
        "the business date is required (YYYY-MM-DD): regwatch passes it as REGWATCH_BUSINESS_DATE",
        var_name='business_date',
    ) -}}
{%- endmacro %}
