{#-
    A DOUBLE expression as DECIMAL(precision, scale), rounded the way DuckDB casts a DOUBLE to
    a DECIMAL: round(x * 10^scale) / 10^scale, half away from zero, on the double itself.

    DuckDB divides a DECIMAL (or an integer) by a DECIMAL or an integer in DOUBLE, so a model
    casting such a quotient to DECIMAL rounds a double; Spark divides DECIMALs exactly and
    rounds the exact quotient, a unit of the last place apart where the double lies just under
    a half (issue 19's 1M-transaction day on both engines: one activity spike's expected
    amount, 19,662.60 / 24 x 3 = 2,457.825, came out 2,457.82 on DuckDB and 2,457.83 on
    Spark). Write the operands as doubles (``cast(x as double)``: what DuckDB does anyway) and
    wrap the result in this macro: the same doubles, the same rounding on both engines
    (as ``spark__money_at_cross_rate``).
-#}
{% macro double_as_decimal(expression, precision, scale) -%}
    {{- return(adapter.dispatch('double_as_decimal')(expression, precision, scale)) -}}
{%- endmacro %}

{% macro default__double_as_decimal(expression, precision, scale) -%}
    cast({{ expression }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro spark__double_as_decimal(expression, precision, scale) -%}
    cast(round(({{ expression }}) * {{ 10 ** scale }}, 0) / {{ 10 ** scale }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}
