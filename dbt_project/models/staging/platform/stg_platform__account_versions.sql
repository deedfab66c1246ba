{#-
    Every version of every account delivered by the business date (not only the latest):
    the devices an account was ever seen on and the status changes of its life. A
    version delivered twice counts once (the latest load, then the last row, wins).
-#}
with

versions as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by account_id, updated_at
                order by _business_date desc, _row_number desc
            ) as _delivery_rank
        from {{ source('platform', 'accounts') }}
        where _business_date <= {{ business_date() }}
    ) as delivered
    where _delivery_rank = 1
),

final as (
    select
        account_id,
        customer_id,
        customer_type,
        full_name,
        device_id,
        opened_at,
        status,
        updated_at,
        _business_date as loaded_business_date,
        _load_id
    from versions
)

select * from final
