with

source as (
    select * from {{ ref('disclosure_indicators') }}
),

final as (
    select
        indicator_id,
        breakdown_key,
        sort_order,
        indicator_group,
        label,
        unit,
        legal_basis,
        numerator_definition,
        denominator_definition,
        definition,
        valid_from,
        valid_to
    from source
)

select * from final
