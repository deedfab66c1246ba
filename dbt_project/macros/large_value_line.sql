{#-
    The join condition of two relations on a large-value line: one customer's transactions
    of one date, one large_value_category and one direction (PBOC Order [2016] No. 3
    art. 5: the lines are per category and direction, a customer's day summed). ``left``
    and ``right``: the relations' names or aliases.
-#}
{% macro large_value_line_join(left, right) -%}
    {%- for column in ['customer_id', 'transaction_date', 'large_value_category', 'direction'] -%}
        {%- if not loop.first %}
        and {% endif -%}
        {{ left }}.{{ column }} = {{ right }}.{{ column }}
    {%- endfor -%}
{%- endmacro %}
