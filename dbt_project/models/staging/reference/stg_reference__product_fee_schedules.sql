with

source as (
    select * from {{ ref('product_fee_schedules') }}
),

final as (
    select
        product_code,
        fee_name,
        charge_basis,
        rate_min,
        rate_max,
        valid_from,
        valid_to
    from source
)

select * from final
