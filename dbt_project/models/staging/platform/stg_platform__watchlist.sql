with

latest as (
    {{ latest_as_of(source('platform', 'watchlist'), ['list_id'], []) }}
),

final as (
    select
        list_id,
        name,
        aliases,
        date_of_birth,
        country,
        list_name,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
