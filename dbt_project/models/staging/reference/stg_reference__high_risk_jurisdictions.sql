with

source as (
    select * from {{ ref('high_risk_jurisdictions') }}
),

final as (
    select
        jurisdiction_code || '|' || list_name || '|' || cast(valid_from as {{ dbt.type_string() }}) as listing_id,
        upper(jurisdiction_code) as jurisdiction_code,
        jurisdiction_name,
        list_name,
        valid_from,
        valid_to,
        source as listing_source
    from source
)

select * from final
