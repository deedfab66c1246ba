{{ config(unique_key='funding_id') }}

with

latest as (
    {{ latest_as_of(source('platform', 'fundings'), ['funding_id'], []) }}
),

final as (
    select
        funding_id,
        loan_id,
        funder_id,
        funder_type,
        amount,
        funded_at,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
