{#-
    One row per screened party and watch-list entry whose best name or alias scores at
    least the review floor (int_watchlist_names_scored: each distinct name scored once),
    with the evidence, ranked per party: by name score, then date of birth agreement, then
    country agreement (match, unknown, mismatch), then list id, so the order is total.
    Birth date and country never make a match; they order the candidates a compliance
    officer reviews (a namesake with another birth date sorts below the listed person).
    Set-based: the rows and ranks regwatch.screening.screen gives party by party.
    Only ref() here: tests/unit/test_screening.py runs this SQL on its own fixtures.
-#}
with

parties as (
    select * from {{ ref('int_screening_parties_collected') }}
),

names_scored as (
    select * from {{ ref('int_watchlist_names_scored') }}
),

listed as (
    select * from {{ ref('stg_platform__watchlist') }}
),

agreed as (
    select
        parties.*,
        names_scored.list_id,
        listed.list_name,
        listed.name as listed_name,
        listed.date_of_birth as listed_date_of_birth,
        listed.country as listed_country,
        names_scored.matched_name,
        names_scored.is_alias,
        names_scored.name_score,
        case
            when parties.date_of_birth is null or listed.date_of_birth is null then 'unknown'
            when parties.date_of_birth = listed.date_of_birth then 'match'
            else 'mismatch'
        end as dob_agreement,
        case
            when parties.country is null or listed.country is null or parties.country = '' or listed.country = ''
                then 'unknown'
            when upper(trim(parties.country)) = upper(trim(listed.country)) then 'match'
            else 'mismatch'
        end as country_agreement,
        listed.delivered_business_date as list_delivered_date
    from parties
    inner join names_scored on parties.screened_name = names_scored.screened_name
    inner join listed on names_scored.list_id = listed.list_id
),

final as (
    select
        party_role,
        customer_id,
        customer_type,
        party_key,
        screened_name,
        date_of_birth,
        country,
        counterparty_account,
        transaction_count,
        transaction_ids,
        first_transaction_at,
        list_id,
        list_name,
        listed_name,
        listed_date_of_birth,
        listed_country,
        matched_name,
        is_alias,
        name_score,
        dob_agreement,
        country_agreement,
        row_number() over (
            partition by party_role, party_key, screened_name
            order by
                name_score desc,
                case dob_agreement when 'match' then 0 when 'unknown' then 1 else 2 end,
                case country_agreement when 'match' then 0 when 'unknown' then 1 else 2 end,
                list_id
        ) as match_rank,
        list_delivered_date
    from agreed
)

select * from final
