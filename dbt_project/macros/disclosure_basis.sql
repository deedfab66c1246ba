{#-
    The legal basis printed with a disclosure indicator, from the rule pack, as SQL over a
    column holding the CN name (the catalogue seed disclosure_indicators' legal_basis). The
    indicators follow the layout of the CN guideline (CBRC [2017] No. 113 art. 10), so
    each one names its CN basis (e.g. 'art. 10(7)'); a pack filing under another law maps
    those names to its own citations in the parameter disclosure_legal_basis (the us pack:
    Regulation Z for the real APR, "policy" where no US rule prescribes an indicator). A
    name the pack does not map - every name, for a pack without the parameter, such as a
    pack sealed before it existed - is printed as it is: the CN basis.
-#}
{% macro disclosure_basis(column) -%}
    {%- set params = var('pack', {}) or {} -%}
    {%- set mapping = params.get('disclosure_legal_basis') or {} -%}
    {%- if mapping -%}
        case {{ column }}
        {%- for name, text in mapping.items() %} when {{ sql_string(name) }} then {{ sql_string(text) }}{% endfor %}
        else {{ column }} end
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- A Jinja string as a SQL string literal (quotes doubled). -#}
{% macro sql_string(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
