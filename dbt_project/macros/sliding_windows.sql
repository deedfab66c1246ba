{#-
    The windows of window_days calendar days ending on each of the last
    lookback_days - window_days + 1 days before D (at least one), one row each
    (window_start_date, window_end_date): windows that slide over every day whatever
    the run cadence. Used by the flow rules over the transfer graph.
-#}
{% macro sliding_windows(lookback_days, window_days) -%}
{%- for back in range([lookback_days - window_days + 1, 1] | max) %}
    {% if not loop.first %}union all{% endif %}
    select
        cast({{ dbt.dateadd('day', -(back + window_days - 1), business_date()) }} as date) as window_start_date,
        cast({{ dbt.dateadd('day', -back, business_date()) }} as date) as window_end_date
{%- endfor %}
{%- endmacro %}
