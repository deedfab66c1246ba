{#-
    One row per customer and watch-list entry whose name or alias comes near the
    customer's name (at least the review floor) on the business date, with the
    evidence a compliance officer needs: the matched entry and alias, the list and its
    delivery, the score, and whether date of birth and country agree. When a customer's
    accounts carry several names, the best-scoring one stands for the customer.
-#}
with

matches as (
    select * from {{ ref('int_watchlist_matches_scored') }}
    where party_role = 'customer'
),

best as (
    select
        *,
        row_number() over (
            partition by customer_id, list_id
            order by name_score desc, match_rank, screened_name
        ) as _name_rank
    from matches
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(customer_id || '|' || list_id as {{ dbt.type_string() }}) as entity_key,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(customer_type as {{ dbt.type_string() }}) as customer_type,
        cast(screened_name as {{ dbt.type_string() }}) as screened_name,
        cast(date_of_birth as date) as date_of_birth,
        cast(country as {{ dbt.type_string() }}) as country,
        {{ watchlist_entry_columns() }},
        cast(listed_date_of_birth as date) as listed_date_of_birth,
        cast(dob_agreement as {{ dbt.type_string() }}) as dob_agreement,
        cast(listed_country as {{ dbt.type_string() }}) as listed_country,
        cast(country_agreement as {{ dbt.type_string() }}) as country_agreement,
        cast(match_rank as integer) as match_rank,
        cast(list_delivered_date as date) as list_delivered_date
    from best
    where _name_rank = 1
)

select * from final
