{#-
    One row per counterparty of the business date's transactions (per customer,
    counterparty account and name) and watch-list entry whose name or alias comes near
    it (at least the review floor): the customer whose transactions name the
    counterparty first, then the matched entry, the score and the transactions.
-#}
with

matches as (
    select * from {{ ref('int_watchlist_matches_scored') }}
    where party_role = 'counterparty'
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(party_key || '|' || list_id as {{ dbt.type_string() }}) as entity_key,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(counterparty_account as {{ dbt.type_string() }}) as counterparty_account,
        cast(screened_name as {{ dbt.type_string() }}) as counterparty_name,
        cast(country as {{ dbt.type_string() }}) as counterparty_country,
        cast(transaction_count as integer) as transaction_count,
        cast(transaction_ids as {{ dbt.type_string() }}) as transaction_ids,
        cast(first_transaction_at as timestamp) as first_transaction_at,
        {{ watchlist_entry_columns() }},
        cast(listed_country as {{ dbt.type_string() }}) as listed_country,
        cast(country_agreement as {{ dbt.type_string() }}) as country_agreement,
        cast(match_rank as integer) as match_rank,
        cast(list_delivered_date as date) as list_delivered_date
    from matches
)

select * from final
