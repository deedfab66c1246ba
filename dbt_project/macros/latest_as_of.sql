{#-
    The latest version of each record as of the business date D, written once.

    Only loads of D or earlier count (so a rerun of a past date sees what had arrived by
    then), and of each date only its current load: raw is append-only by load, and a date
    delivered again (restated) has several; the current one is its latest arrival in
    raw.load_arrivals (an audit rerun's scratch warehouse holds exactly the loads the run
    recorded). A date with no arrival at all (rows put into raw.* by hand, as test
    fixtures do) counts with every load. Among them one row per key wins: the highest version column (e.g.
    updated_at), then the latest load, then the last row of the file.

    Incremental (the staging models are tables merged by load, unique_key = the key): only
    the loads after the last build's date are ranked (delivered_as_of), and the model's
    delete+insert replaces each key they bring. Their date is later than any row kept, so
    without version columns the newest load's row wins, as it does from scratch. With
    version columns a kept row can still win (a load bringing an older version): pass
    ``kept``, the raw columns the model keeps under the same name (the key and version
    columns, ``_load_id``, and its business date as ``loaded_business_date``), and the kept
    rows of the keys the loads bring are ranked with them.
-#}
{% macro latest_as_of(relation, key_columns, version_columns=[], kept=none) %}
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
        from (
            {%- if kept is not none and is_incremental() %}
            select {{ kept | join(', ') }}, _business_date, _row_number
            from {{ relation }}
            where {{ delivered_as_of() }}
            union all
            select
                {% for column in kept %}{{ column }}, {% endfor %}
                loaded_business_date as _business_date,
                cast(null as integer) as _row_number
            from {{ this }} as kept_rows
            where exists (
                select 1
                from {{ relation }} as delivered
                where {{ delivered_as_of() }}
                {% for column in key_columns %}and delivered.{{ column }} = kept_rows.{{ column }} {% endfor %}
            )
            {%- else %}
            select *
            from {{ relation }}
            where {{ delivered_as_of() }}
            {%- endif %}
        ) as candidates
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
