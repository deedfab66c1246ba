{#-
    Every version of every account delivered by D (the account history, for "status as of
    an earlier date"): one row per account and updated_at, the latest delivery winning.
-#}
with

latest as (
    {{ latest_as_of(source('platform', 'accounts'), ['account_id', 'updated_at'], []) }}
),

final as (
    select
        account_id || '|' || cast(updated_at as varchar) as account_version_id,
        account_id,
        customer_id,
        customer_type,
        country,
        opened_at,
        status,
        updated_at,
        _business_date as loaded_business_date
    from latest
)

select * from final
