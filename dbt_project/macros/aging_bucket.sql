{#-
    The aging bucket of a number of days past due, from the pack's bucket bounds
    (overdue_bucket_upper_days, e.g. [30, 60, 90] -> current, 1-30, 31-60, 61-90,
    more than 90). Zero days (nothing past due) is "current".
-#}
{% macro aging_bucket(days) -%}
    {%- set bounds = pack_value('overdue_bucket_upper_days') -%}
    case
        when {{ days }} <= 0 then 'current'
        {%- for upper in bounds %}
        when {{ days }} <= {{ upper }} then '{{ (bounds[loop.index0 - 1] + 1) if loop.index0 > 0 else 1 }}-{{ upper }}'
        {%- endfor %}
        else 'more than {{ bounds[-1] }}'
    end
{%- endmacro %}

{#- The bucket labels in order, for reports and tests. -#}
{% macro aging_bucket_labels() -%}
    {%- set bounds = pack_value('overdue_bucket_upper_days') -%}
    {%- set labels = ['current'] -%}
    {%- for upper in bounds -%}
        {%- do labels.append(((bounds[loop.index0 - 1] + 1) if loop.index0 > 0 else 1) ~ '-' ~ upper) -%}
    {%- endfor -%}
    {%- do labels.append('more than ' ~ bounds[-1]) -%}
    {{ return(labels) }}
{%- endmacro %}
