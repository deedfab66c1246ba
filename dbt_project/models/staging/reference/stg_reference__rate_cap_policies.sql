with

source as (
    select * from {{ ref('rate_cap_policies') }}
),

final as (
    select
        policy_id,
        cap_name,
        lending_scope,
        cap_kind,
        multiplier,
        fixed_rate,
        valid_from,
        valid_to,
        legal_basis
    from source
)

select * from final
