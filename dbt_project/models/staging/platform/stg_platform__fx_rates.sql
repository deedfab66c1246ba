{{ config(unique_key=['rate_date', 'currency']) }}

with

latest as (
    {{ latest_as_of(source('platform', 'fx_rates'), ['rate_date', 'currency'], []) }}
),

final as (
    select
        rate_date,
        currency,
        cny_per_unit,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
