{#-
    An amount of money times a rate (an FX rate, a share), rounded half away from zero to
    the cent, as DECIMAL(18, 2): up to 9,999,999,999,999,999.99, more than any real amount.

    The amount is widened to DECIMAL(38, 2) before multiplying: DuckDB gives a decimal
    product the width of its wider operand, so DECIMAL(18, 2) x DECIMAL(18, 8) is
    DECIMAL(18, 10), which overflows from 100,000,000 on (issue 14: a CNY 100 M transfer
    failed the day's build). Standard SQL; Spark widens products to DECIMAL(38, 6) anyway.
-#}
{% macro money_at_rate(amount, rate) -%}
    {{- return(adapter.dispatch('money_at_rate')(amount, rate)) -}}
{%- endmacro %}

{% macro default__money_at_rate(amount, rate) -%}
    cast(round(cast({{ amount }} as decimal(38, 2)) * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}

{#-
    Spark: DECIMAL(38, 2) x DECIMAL(18, 8) needs 57 digits, so Spark rounds the product to
    DECIMAL(38, 6) before the cent rounding (a second rounding: 11 of 300,000 generated
    products came out a cent off DuckDB's). DECIMAL(19, 2) x DECIMAL(18, 8) is exactly
    DECIMAL(38, 10), DuckDB's product; an amount beyond DECIMAL(19, 2) fails the cast
    (ANSI mode), never rounds.
-#}
{% macro spark__money_at_rate(amount, rate) -%}
    cast(round(cast({{ amount }} as decimal(19, 2)) * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}

{#-
    An amount converted through the CNY cross rate: amount x cny_per_unit(its currency) /
    cny_per_unit(target currency), both of one date, rounded half away from zero to the
    cent as DECIMAL(18, 2). The engine may divide in floating point; the rounded quotient is
    cast back to DECIMAL, so every sum downstream is exact and order-independent. Used by
    the transactions' USD equivalents and the loans' reporting-currency amounts.
-#}
{% macro money_at_cross_rate(amount, from_cny_per_unit, to_cny_per_unit) -%}
    {{- return(adapter.dispatch('money_at_cross_rate')(amount, from_cny_per_unit, to_cny_per_unit)) -}}
{%- endmacro %}

{% macro default__money_at_cross_rate(amount, from_cny_per_unit, to_cny_per_unit) -%}
    cast(round(cast({{ amount }} as decimal(38, 2)) * {{ from_cny_per_unit }} / {{ to_cny_per_unit }}, 2) as decimal(18, 2))
{%- endmacro %}

{#-
    Spark: DuckDB divides a DECIMAL by a DECIMAL in DOUBLE (the exact product, as a double,
    over the rate, as a double) and rounds that double to the cent as round(x * 100) / 100;
    Spark would divide in DECIMAL and round the exact quotient, a cent apart on a quotient
    whose double lies just under a half cent (18 of 300,000 generated conversions). The
    same doubles, the same rounding: equal on all of them.
-#}
{% macro spark__money_at_cross_rate(amount, from_cny_per_unit, to_cny_per_unit) -%}
    cast(round(cast(cast({{ amount }} as decimal(19, 2)) * {{ from_cny_per_unit }} as double) / cast({{ to_cny_per_unit }} as double) * 100, 0) / 100 as decimal(18, 2))
{%- endmacro %}
