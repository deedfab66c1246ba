{#-
    The watch list as it stood on the business date: every row of the latest delivery
    on or before D. A delivery is the whole list, not a change set, so an entry the
    latest delivery no longer carries is delisted (a latest-version-per-entry view
    would keep it forever). A rerun of an old date screens against that day's list, and
    of a date delivered again only its current load counts.
-#}
{#- A view: a delivery replaces the whole list, and deliveries are few (no merge by key). -#}
{{ config(materialized='view') }}

with

deliveries as (
    select max(_business_date) as delivered_business_date
    from {{ source('platform', 'watchlist') }}
    where _business_date <= {{ business_date() }}
        and {{ in_current_load() }}
),

delivered as (
    select watchlist.*
    from {{ source('platform', 'watchlist') }} as watchlist
    inner join deliveries on watchlist._business_date = deliveries.delivered_business_date
    where {{ in_current_load() }}
),

final as (
    select
        list_id,
        name,
        aliases,
        date_of_birth,
        country,
        list_name,
        _business_date as delivered_business_date,
        _load_id
    from delivered
)

select * from final
