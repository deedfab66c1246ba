{#-
    The business date of the build an incremental model continues from, as a SQL date
    literal: only the loads of later dates are merged in (regwatch.transform decides
    whether a build may continue from the last one, and passes its date in the
    environment as REGWATCH_BUILT_THROUGH; it is read only while dbt executes, like the
    business date, so the parse is reused across days).
-#}
{% macro built_through() -%}
    {{- date_from_env(
        'REGWATCH_BUILT_THROUGH', is_incremental(),
        "an incremental build needs the date of the build it continues from: regwatch passes it as REGWATCH_BUILT_THROUGH (or run dbt with --full-refresh)",
    ) -}}
{%- endmacro %}

{#-
    True for a raw row this build counts: a row of a date up to D of its date's current
    load; in an incremental build only of the dates after the last build's (the earlier
    ones are in the model already).
-#}
{% macro delivered_as_of() %}
    (
        _business_date <= {{ business_date() }}
        {% if is_incremental() %}and _business_date > {{ built_through() }}{% endif %}
        and {{ in_current_load() }}
    )
{% endmacro %}

{#-
    True for a transaction whose row an incremental transaction-grain model must build
    again: one a load after the last build brought (new or delivered again), one of an
    account whose latest version changed (its customer and type), one of a date whose FX
    rates changed, and with ``counterparty_column``, one whose counterparty account
    changed (its customer). Every other row's inputs are as the last build saw them.
    ``date_expression``: the transaction date in the relation read.
-#}
{% macro transaction_inputs_changed(date_expression='transaction_date', counterparty_column=none) %}
    (
        loaded_business_date > {{ built_through() }}
        or account_id in (
            select account_id from {{ ref('stg_platform__accounts') }}
            where loaded_business_date > {{ built_through() }}
        )
        or {{ date_expression }} in (
            select rate_date from {{ ref('stg_platform__fx_rates') }}
            where loaded_business_date > {{ built_through() }}
        )
        {%- if counterparty_column is not none %}
        or nullif(trim({{ counterparty_column }}), '') in (
            select account_id from {{ ref('stg_platform__accounts') }}
            where loaded_business_date > {{ built_through() }}
        )
        {%- endif %}
    )
{% endmacro %}
