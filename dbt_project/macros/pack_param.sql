{#-
    A rule-pack parameter (checks/<pack>/_pack.yml) as a SQL literal, for windows and
    thresholds that shape a feature model. regwatch passes the pack's parameters as the
    dbt var ``pack``; a model asking for one the pack lacks fails to compile, naming it,
    unless it gives ``default`` (raw SQL, e.g. 'null'): a model shared by every pack that
    reads a parameter only some packs define (the CN large-value lines) stays inert in
    the others. While dbt parses (``execute`` false) a missing one renders as null: a model
    disabled for packs without its parameters (``pack_defines``) is parsed, never compiled.
-#}
{% macro pack_param(name, default=none) -%}
    {%- set params = var('pack', {}) or {} -%}
    {%- if name not in params -%}
        {%- if default is not none -%}
            {{ default }}
        {%- elif execute -%}
            {{ exceptions.raise_compiler_error("rule-pack parameter '" ~ name ~ "' is not set: add it to checks/<pack>/_pack.yml") }}
        {%- else -%}
            null
        {%- endif -%}
    {%- else -%}
        {%- set value = params[name] -%}
        {%- if value is string -%}
            '{{ value | replace("'", "''") }}'
        {%- else -%}
            {{ value }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
