{#-
    One disclosure indicator row (rpt_disclosure_indicators): the value of one indicator of
    the catalogue seed disclosure_indicators for each period (and breakdown), with the
    texts the catalogue's templates take from the data. Everything else an indicator
    prints - its order, group, label, unit, legal basis and definitions - is the
    catalogue row's (disclosure_indicator_texts fills the templates).

    - ``numerator``: the measure (SQL); alone, it is the value. With ``denominator`` the
      value is numerator / denominator rounded to 8 places (null unless the denominator
      is positive) and both terms are printed. ``numerator_value`` prints another form of
      the numerator (e.g. rounded) where the value uses the exact one.
    - ``from_sql``: what the row is selected from, ``periods.*`` columns included (by
      default the one-row-per-period ``measures``); ``group_by``: when the numerator
      aggregates, the breakdown columns to group by besides the period's.
    - ``breakdown_key``: 'total' or the breakdown's key (SQL); ``texts``: SQL text for the
      templates' {breakdown}, {numerator}, {denominator}, {formula} and {ratio_kind}.
-#}
{% macro disclosure_indicator(indicator_id, numerator, denominator=none, numerator_value=none,
        from_sql='measures as periods', group_by=none, breakdown_key="'total'", texts={}) -%}
    {%- set shown = numerator_value if numerator_value is not none else numerator %}
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ sql_string(indicator_id) }} as indicator_id,
        {{ breakdown_key }} as breakdown_key,
        {%- if denominator is none %}
        cast({{ shown }} as decimal(24, 8)) as value,
        {%- else %}
        cast(case when {{ denominator }} > 0
            then round(cast({{ numerator }} as double) / cast({{ denominator }} as double), 8)
        end as decimal(24, 8)) as value,
        {%- endif %}
        cast({{ shown }} as decimal(24, 8)) as numerator_value,
        cast({{ denominator if denominator is not none else 'null' }} as decimal(24, 8)) as denominator_value,
        {%- for name in disclosure_text_names() %}
        cast({{ texts.get(name, 'null') }} as {{ dbt.type_string() }}) as text_{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ from_sql }}
    {%- if group_by is not none %}
    group by periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed
        {%- for column in group_by %}, {{ column }}{% endfor %}
    {%- endif %}
{%- endmacro %}

{#- The placeholders an indicator row fills from its data (columns text_<name>). -#}
{% macro disclosure_text_names() -%}
    {{ return(['breakdown', 'numerator', 'denominator', 'formula', 'ratio_kind']) }}
{%- endmacro %}

{#-
    A catalogue template (a column of the seed disclosure_indicators) filled for one
    indicator row ``row``: {basis} is the catalogue's legal_basis as the pack prints it
    (disclosure_basis), {currency_note} says the pack's reporting currency, {apr_convention}
    names the pack's APR convention, and the data placeholders take the row's text_<name>.
    As with ||, a placeholder whose text is null makes the whole text null.
-#}
{% macro disclosure_indicator_texts(template, catalogue, row, currency_note) -%}
    {%- set text = namespace(sql=template) -%}
    {%- set text.sql = "replace(replace(replace(" ~ template
        ~ ", '{basis}', coalesce(" ~ disclosure_basis(catalogue ~ '.legal_basis') ~ ", ''))"
        ~ ", '{currency_note}', " ~ sql_string(currency_note) ~ ")"
        ~ ", '{apr_convention}', " ~ sql_string(var('apr_convention', 'cn_irr')) ~ ")" -%}
    {%- for name in disclosure_text_names() -%}
        {%- set text.sql = 'replace(' ~ text.sql ~ ", '{" ~ name ~ "}', coalesce(" ~ row ~ '.text_' ~ name ~ ", ''))" -%}
    {%- endfor %}
    case
        {%- for name in disclosure_text_names() %}
        when {{ row }}.text_{{ name }} is null and {{ template }} like '%{{ '{' ~ name ~ '}' }}%' then null
        {%- endfor %}
        else {{ text.sql }}
    end
{%- endmacro %}
