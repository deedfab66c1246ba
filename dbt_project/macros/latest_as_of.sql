{#-
    The latest version of each record as of the business date D, written once.

    Only loads of D or earlier count (so a rerun of a past date sees what had arrived by
    then). Among them one row per key wins: the highest version column (e.g. updated_at),
    then the latest load, then the last row of the file.
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
    ) as versions
    where _version_rank = 1
{% endmacro %}
