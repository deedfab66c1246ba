{#-
    The first calendar date of a window of `days` calendar days that ends on the business
    date D (D included): D - (days - 1). `days` is a SQL expression, usually a pack_param.
-#}
{% macro window_start(days) -%}
    cast({{ dbt.dateadd('day', '1 - (' ~ days ~ ')', business_date()) }} as date)
{%- endmacro %}
