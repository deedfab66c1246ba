{#-
    The pack's reporting currency (checks/<pack>/_pack.yml ``currency``: CNY for cn, USD for
    us), passed by regwatch as the dbt var ``reporting_currency``. Every loan-side amount the
    disclosures sum is converted to it (money_in_reporting_currency); the unit of every
    money indicator is this code.
-#}
{% macro reporting_currency() -%}
    {%- set code = var('reporting_currency', 'CNY') -%}
    {%- if not (code is string and code | length == 3 and code == code | upper) -%}
        {{ exceptions.raise_compiler_error("reporting_currency must be an ISO 4217 code, got '" ~ code ~ "'") }}
    {%- endif -%}
    {{ return(code) }}
{%- endmacro %}

{#-
    The CNY per unit of ``currency`` from a joined fx_rates row ``alias``: 1 for CNY by
    definition, null when the rate is missing or zero (never read as 0).
-#}
{% macro cny_per_unit(currency, alias) -%}
    case when {{ currency }} = 'CNY' then cast(1 as decimal(18, 8)) else nullif({{ alias }}.cny_per_unit, 0) end
{%- endmacro %}

{#-
    An amount in ``currency`` in CNY, the unit of the AML marts: itself for CNY, else
    amount x ``cny_per_unit`` (the cny_per_unit() of its date) rounded half away from zero to
    the cent; null when that rate is missing or zero (never 0). The transactions
    (int_transactions_converted) and the loans' proceeds (fct_loan_proceeds_outflows)
    convert through it.
-#}
{% macro money_in_cny(amount, currency, cny_per_unit) -%}
    case when {{ currency }} = 'CNY' then {{ amount }} else {{ money_at_rate(amount, cny_per_unit) }} end
{%- endmacro %}

{#-
    An amount in ``currency`` converted to the reporting currency R with the rates of one
    date, through the CNY cross rate - the same arithmetic as the transactions'
    (int_transactions_converted): amount x cny_per_unit(currency) / cny_per_unit(R),
    rounded half away from zero to the cent, per amount (a loan, a payment) before any sum.
    An amount already in R is itself; zero needs no rate; a missing rate gives null, never
    a guess (the rules <pack>.aml.missing_fx_rate name the currency and date, fct_fx_rates_used).
-#}
{% macro money_in_reporting_currency(amount, currency, own_cny_per_unit, reporting_cny_per_unit) -%}
    {%- set code = reporting_currency() -%}
    case
        when {{ currency }} = '{{ code }}' then cast({{ amount }} as decimal(18, 2))
        when {{ amount }} = 0 then cast(0 as decimal(18, 2))
        {%- if code == 'CNY' %}
        else {{ money_at_rate(amount, own_cny_per_unit) }}
        {%- else %}
        else {{ money_at_cross_rate(amount, own_cny_per_unit, reporting_cny_per_unit) }}
        {%- endif %}
    end
{%- endmacro %}

{#-
    The sum of converted amounts, or null when any of them is unknown (a missing rate): a
    disclosed total is exact or absent, never a partial sum. ``key`` is a column that is
    null on the rows an outer join adds (they count as no amount); an empty set sums to 0.
-#}
{% macro sum_converted(expression, key=none) -%}
    case
        when max(case when {% if key is not none %}{{ key }} is not null and {% endif %}({{ expression }}) is null then 1 else 0 end) = 1
            then null
        else coalesce(sum({{ expression }}), 0)
    end
{%- endmacro %}
