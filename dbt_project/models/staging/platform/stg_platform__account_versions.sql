{#-
    Every version of every account delivered by D (the account history): one row per
    account and updated_at, the latest delivery winning. For "status as of an earlier
    date", the devices an account was ever seen on and the status changes of its life.
-#}
{{ config(unique_key='account_version_id') }}

with

latest as (
    {{ latest_as_of(source('platform', 'accounts'), ['account_id', 'updated_at'], []) }}
),

final as (
    select
        account_id || '|' || cast(updated_at as {{ dbt.type_string() }}) as account_version_id,
        account_id,
        customer_id,
        customer_type,
        full_name,
        device_id,
        country,
        opened_at,
        status,
        updated_at,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
