{#-
    An amount of money times a rate (an FX rate, a share), rounded half away from zero to
    the cent, as DECIMAL(18, 2): up to 9,999,999,999,999,999.99, more than any real amount.

    The amount is widened to DECIMAL(38, 2) before multiplying: DuckDB gives a decimal
    product the width of its wider operand, so DECIMAL(18, 2) x DECIMAL(18, 8) is
    DECIMAL(18, 10), which overflows from 100,000,000 on (issue 14: a CNY 100 M transfer
    failed the day's build). Standard SQL; Spark widens products to DECIMAL(38, 6) anyway.
-#}
{% macro money_at_rate(amount, rate) -%}
    cast(round(cast({{ amount }} as decimal(38, 2)) * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}

{#-
    An amount converted through the CNY cross rate: amount x cny_per_unit(its currency) /
    cny_per_unit(target currency), both of one date, rounded half away from zero to the
    cent as DECIMAL(18, 2). The engine may divide in floating point; the rounded quotient is
    cast back to DECIMAL, so every sum downstream is exact and order-independent. Used by
    the transactions' USD equivalents and the loans' reporting-currency amounts.
-#}
{% macro money_at_cross_rate(amount, from_cny_per_unit, to_cny_per_unit) -%}
    cast(round(cast({{ amount }} as decimal(38, 2)) * {{ from_cny_per_unit }} / {{ to_cny_per_unit }}, 2) as decimal(18, 2))
{%- endmacro %}
