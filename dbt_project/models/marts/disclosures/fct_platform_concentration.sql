{#-
    One row for the platform at the business date D: the top-10 borrowers' and the largest
    single borrower's share of the outstanding principal (CBRC [2017] No. 113 art. 10(5)),
    for the concentration rules (thresholds are policy: pack parameters). Amounts in the
    pack's reporting currency (fct_borrower_exposures); unknown (null) while a borrower's
    balance lacks an FX rate, never a partial sum.
-#}
with

exposures as (
    select * from {{ ref('fct_borrower_exposures') }}
),

totals as (
    select
        sum(outstanding_principal) as outstanding_principal,
        sum(case when exposure_rank <= 10 then outstanding_principal else 0 end) as top10_outstanding_principal,
        max(case when exposure_rank = 1 then outstanding_principal end) as largest_outstanding_principal,
        max(case when exposure_rank = 1 then borrower_id end) as largest_borrower_id,
        count(*) as borrower_count,
        coalesce({{ dbt.bool_or('has_missing_fx_rate') }}, false) as has_missing_fx_rate
    from exposures
),

final as (
    select
        {{ business_date() }} as business_date,
        cast('platform' as {{ dbt.type_string() }}) as entity_key,
        cast(case when not has_missing_fx_rate then coalesce(outstanding_principal, 0) end as decimal(18, 2)) as outstanding_principal,
        cast(case when not has_missing_fx_rate then coalesce(top10_outstanding_principal, 0) end as decimal(18, 2)) as top10_outstanding_principal,
        cast(case when not has_missing_fx_rate then coalesce(largest_outstanding_principal, 0) end as decimal(18, 2)) as largest_outstanding_principal,
        cast(largest_borrower_id as {{ dbt.type_string() }}) as largest_borrower_id,
        cast(borrower_count as integer) as borrower_count,
        cast(
            case when outstanding_principal > 0 and not has_missing_fx_rate
                then round(cast(top10_outstanding_principal as double) / cast(outstanding_principal as double), 8)
            end as decimal(12, 8)
        ) as top10_borrower_share,
        cast(
            case when outstanding_principal > 0 and not has_missing_fx_rate
                then round(cast(largest_outstanding_principal as double) / cast(outstanding_principal as double), 8)
            end as decimal(12, 8)
        ) as single_borrower_share
    from totals
)

select * from final
