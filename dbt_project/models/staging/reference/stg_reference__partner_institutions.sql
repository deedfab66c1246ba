with

source as (
    select * from {{ ref('partner_institutions') }}
),

final as (
    select
        partner_id,
        partner_name,
        partner_role,
        licence,
        valid_from,
        valid_to
    from source
)

select * from final
