{#-
    True when an effective-dated reference row ``alias`` (valid_from, valid_to; valid_to
    null = still in force) is in force on ``day`` (a SQL date): valid_from <= day < valid_to.
-#}
{% macro in_force(alias, day) -%}
    {{ alias }}.valid_from <= {{ day }}
        and ({{ alias }}.valid_to is null or {{ alias }}.valid_to > {{ day }})
{%- endmacro %}
