{#-
    The disclosure periods that contain the business date D: its month (YYYY-MM) and its
    quarter (YYYYQn), with their first and last calendar day and whether D closes them (the
    next weekday after D falls after the period end). Disclosure is as of the period end
    (CBRC [2017] No. 113 art. 10: monthly, as of the previous month end; quarterly items).
-#}
{% macro disclosure_periods() %}
    select
        period_kind,
        period_id,
        period_start,
        period_end,
        {{ next_weekday(business_date()) }} > period_end as is_period_closed
    from (
        select
            'month' as period_kind,
            cast(extract(year from {{ business_date() }}) as {{ dbt.type_string() }}) || '-'
                || lpad(cast(extract(month from {{ business_date() }}) as {{ dbt.type_string() }}), 2, '0') as period_id,
            cast({{ dbt.date_trunc('month', business_date()) }} as date) as period_start,
            cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', business_date()))) }} as date)
                as period_end
        union all
        select
            'quarter' as period_kind,
            cast(extract(year from {{ business_date() }}) as {{ dbt.type_string() }}) || 'Q'
                || cast(extract(quarter from {{ business_date() }}) as {{ dbt.type_string() }}) as period_id,
            cast({{ dbt.date_trunc('quarter', business_date()) }} as date) as period_start,
            cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, dbt.date_trunc('quarter', business_date()))) }} as date)
                as period_end
    ) as periods
{% endmacro %}
