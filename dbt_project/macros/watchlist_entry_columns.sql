{#-
    The matched watch-list entry's columns of a screening mart (fct_customer_watchlist_matches,
    fct_counterparty_watchlist_matches), typed as their contracts say: the list and entry,
    the name or alias matched and the score (int_watchlist_matches_scored).
-#}
{% macro watchlist_entry_columns() -%}
        cast(list_id as {{ dbt.type_string() }}) as list_id,
        cast(list_name as {{ dbt.type_string() }}) as list_name,
        cast(listed_name as {{ dbt.type_string() }}) as listed_name,
        cast(matched_name as {{ dbt.type_string() }}) as matched_name,
        cast(is_alias as boolean) as is_alias,
        cast(round(name_score, 2) as decimal(5, 2)) as name_score
{%- endmacro %}
