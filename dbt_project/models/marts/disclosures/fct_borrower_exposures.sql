{#-
    One row per borrower with principal outstanding on the platform at the business date D:
    the amount (split by borrower type, for the limits of Interim Measures 2016 art. 17:
    CNY 200,000 for a natural person, CNY 1,000,000 for a legal person or organisation, on
    one platform - pack parameters the rules compare with), the loans, its rank and share
    of the platform's outstanding principal (concentration).

    The amounts are in the pack's reporting currency (CNY for cn: the limits' own unit),
    each loan's outstanding principal converted at D's rate (fct_loan_positions
    outstanding_principal_reporting), never a sum of mixed currencies. A loan without
    the rate leaves the borrower's total a lower bound of the known loans
    (has_missing_fx_rate): a lower bound above the limit is a breach; the gap itself is an
    exception naming the currency and date (fct_fx_rates_used).
-#}
with

positions as (
    select * from {{ ref('fct_loan_positions') }}
    where is_outstanding
),

borrowers as (
    select
        borrower_id,
        max(borrower_type) as borrower_type,
        cast(coalesce(sum(outstanding_principal_reporting), 0) as decimal(18, 2)) as outstanding_principal,
        {{ dbt.listagg('distinct currency', "','", 'order by currency') }} as currencies,
        {{ dbt.bool_or('outstanding_principal_reporting is null') }} as has_missing_fx_rate,
        cast(count(*) as integer) as outstanding_loan_count,
        {{ dbt.listagg('loan_id', "', '", 'order by loan_id') }} as loan_ids,
        max(case when is_related_party then 1 else 0 end) = 1 as has_related_party_loan
    from positions
    group by borrower_id
),

platform as (
    select
        case when {{ dbt.bool_or('has_missing_fx_rate') }} then null else sum(outstanding_principal) end
            as platform_outstanding_principal
    from borrowers
),

final as (
    select
        {{ business_date() }} as business_date,
        borrowers.borrower_id,
        borrowers.borrower_type,
        cast('{{ reporting_currency() }}' as {{ dbt.type_string() }}) as reporting_currency,
        borrowers.outstanding_principal,
        cast(borrowers.currencies as {{ dbt.type_string() }}) as currencies,
        borrowers.has_missing_fx_rate,
        borrowers.outstanding_loan_count,
        cast(borrowers.loan_ids as {{ dbt.type_string() }}) as loan_ids,
        borrowers.has_related_party_loan,
        cast(case when borrowers.borrower_type <> 'enterprise' then borrowers.outstanding_principal end as decimal(18, 2))
            as individual_outstanding_principal,
        cast(case when borrowers.borrower_type = 'enterprise' then borrowers.outstanding_principal end as decimal(18, 2))
            as entity_outstanding_principal,
        cast(row_number() over (order by borrowers.outstanding_principal desc, borrowers.borrower_id) as integer)
            as exposure_rank,
        cast(
            round(cast(borrowers.outstanding_principal as double)
                / cast(platform.platform_outstanding_principal as double), 8)
            as decimal(12, 8)
        ) as share_of_outstanding
    from borrowers
    cross join platform
)

select * from final
