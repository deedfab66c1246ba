with

source as (
    select * from {{ ref('lpr_one_year_rates') }}
),

final as (
    select
        valid_from,
        valid_to,
        cast(rate_percent / 100 as decimal(12, 8)) as reference_rate,
        rate_kind,
        source as rate_source
    from source
)

select * from final
