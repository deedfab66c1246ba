{#-
    True when the active rule pack defines every parameter named. A feature model that
    only one family of packs needs (the AML typologies of `cn`) enables itself with
    `config(enabled=pack_defines([...]))`: a pack without those parameters (e.g. `us`)
    does not build it, instead of failing to compile.
-#}
{% macro pack_defines(names) -%}
    {%- set params = var('pack', {}) or {} -%}
    {%- for name in names -%}
        {%- if name not in params -%}{{ return(false) }}{%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}
