{{ config(unique_key='account_id') }}

{#- Incremental: the row kept for a key a new load brings competes with its new versions. -#}
{%- set kept = [
    'account_id', 'customer_id', 'customer_type', 'full_name', 'id_number', 'phone',
    'country', 'device_id', 'opened_at', 'status', 'updated_at', '_load_id'
] %}

with

latest as (
    {{ latest_as_of(source('platform', 'accounts'), ['account_id'], ['updated_at'], kept=kept) }}
),

final as (
    select
        account_id,
        customer_id,
        customer_type,
        full_name,
        id_number,
        phone,
        country,
        device_id,
        opened_at,
        status,
        updated_at,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
