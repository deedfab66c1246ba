{#-
    The latest version of each record as of the business date D, written once.

    Only loads of D or earlier count (so a rerun of a past date sees what had arrived by
    then), and of each date only its current load: raw is append-only by load, and a date
    delivered again (restated) has several; the current one is its latest arrival in
    raw.load_arrivals (an audit rerun's scratch warehouse holds exactly the loads the run
    recorded). A date with no arrival at all (rows put into raw.* by hand, as test
    fixtures do) counts with every load. Among them one row per key wins: the highest version column (e.g.
    updated_at), then the latest load, then the last row of the file.
-#}
{% macro latest_as_of(relation, key_columns, version_columns=[]) %}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by
                    {% for column in version_columns %}{{ column }} desc, {% endfor %}
                    _business_date desc,
                    _row_number desc
            ) as _version_rank
        from {{ relation }}
        where _business_date <= {{ business_date() }}
            and {{ in_current_load() }}
    ) as versions
    where _version_rank = 1
{% endmacro %}

{#-
    True for a raw row of its date's current load (or of a date with no recorded arrival:
    rows put into raw.* by hand, as test fixtures do).
-#}
{% macro in_current_load() %}
    (
        _load_id in ({{ current_loads() }})
        or _business_date not in (select business_date from {{ source('platform', 'load_arrivals') }})
    )
{% endmacro %}

{#- The load id of each business date's current load (its latest arrival), up to D. -#}
{% macro current_loads() %}
    select load_id
    from (
        select
            load_id,
            row_number() over (partition by business_date order by arrival_seq desc) as _arrival_rank
        from {{ source('platform', 'load_arrivals') }}
        where business_date <= {{ business_date() }}
    ) as arrivals
    where _arrival_rank = 1
{% endmacro %}
