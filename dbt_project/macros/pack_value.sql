{#-
    A rule-pack parameter as a Jinja value (a list, a mapping), for models that build SQL
    from it (aging buckets, the numerator and denominator of a disclosed rate). Scalars
    that go straight into SQL use pack_param instead.
-#}
{% macro pack_value(name) -%}
    {%- set params = var('pack', {}) or {} -%}
    {%- if name not in params -%}
        {{ exceptions.raise_compiler_error("rule-pack parameter '" ~ name ~ "' is not set: add it to checks/<pack>/_pack.yml") }}
    {%- endif -%}
    {{ return(params[name]) }}
{%- endmacro %}
