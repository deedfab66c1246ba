{#-
    The rate caps in force on each loan's contract date (SPC: the cap is the one at
    contract formation), from the effective-dated policies and one-year LPR seeds:
    the court's private-lending cap (24% before 2020-08-20, then 4 x LPR) for loans
    funded by individual lenders, the 24% comprehensive-cost level and the 36% void line
    for every loan, and the us pack's APR cap (us_apr_cap). Each cap carries its source:
    the policy and, for 4 x LPR, the quote.
-#}
with

loans as (
    select loan_id, contract_date from {{ ref('stg_platform__loans') }}
),

fundings as (
    select
        loan_id,
        max(case when funder_type = 'individual_lender' then 1 else 0 end) = 1 as is_private_lending
    from {{ ref('stg_platform__fundings') }}
    group by loan_id
),

reference_rates as (
    select * from {{ ref('stg_reference__lpr_one_year_rates') }}
),

policies as (
    select * from {{ ref('stg_reference__rate_cap_policies') }}
),

loan_reference_rates as (
    select
        loans.loan_id,
        reference_rates.reference_rate,
        reference_rates.rate_source
    from loans
    inner join reference_rates
        on loans.contract_date >= reference_rates.valid_from
        and (reference_rates.valid_to is null or loans.contract_date < reference_rates.valid_to)
),

loan_caps as (
    select
        loans.loan_id,
        policies.cap_name,
        cast(
            case
                when policies.cap_kind = 'fixed' then policies.fixed_rate
                else policies.multiplier * loan_reference_rates.reference_rate
            end
            as decimal(12, 8)
        ) as cap_rate,
        policies.policy_id
        || case
            when policies.cap_kind = 'fixed'
                then ': fixed ' || cast(cast(policies.fixed_rate * 100 as decimal(8, 2)) as {{ dbt.type_string() }}) || '%'
            else ': ' || cast(cast(policies.multiplier as integer) as {{ dbt.type_string() }}) || ' x one-year LPR '
                || cast(cast(loan_reference_rates.reference_rate * 100 as decimal(8, 2)) as {{ dbt.type_string() }}) || '% ('
                || loan_reference_rates.rate_source || ')'
        end
        || ' in force on the contract date ' || cast(loans.contract_date as {{ dbt.type_string() }}) as cap_source
    from loans
    inner join policies
        on loans.contract_date >= policies.valid_from
        and (policies.valid_to is null or loans.contract_date < policies.valid_to)
    left join loan_reference_rates on loans.loan_id = loan_reference_rates.loan_id
),

final as (
    select
        loans.loan_id,
        coalesce(fundings.is_private_lending, false) as is_private_lending,
        max(loan_reference_rates.reference_rate) as lpr_at_contract,
        max(case when loan_caps.cap_name = 'court_cap' then loan_caps.cap_rate end) as court_cap_level,
        max(case when loan_caps.cap_name = 'court_cap' then loan_caps.cap_source end) as court_cap_source,
        max(case when loan_caps.cap_name = 'comprehensive_cap' then loan_caps.cap_rate end)
            as comprehensive_cap_rate,
        max(case when loan_caps.cap_name = 'comprehensive_cap' then loan_caps.cap_source end)
            as comprehensive_cap_source,
        max(case when loan_caps.cap_name = 'void_line' then loan_caps.cap_rate end) as void_line_rate,
        max(case when loan_caps.cap_name = 'void_line' then loan_caps.cap_source end) as void_line_source,
        max(case when loan_caps.cap_name = 'us_apr_cap' then loan_caps.cap_rate end) as us_apr_cap_rate,
        max(case when loan_caps.cap_name = 'us_apr_cap' then loan_caps.cap_source end) as us_apr_cap_source
    from loans
    left join fundings on loans.loan_id = fundings.loan_id
    left join loan_reference_rates on loans.loan_id = loan_reference_rates.loan_id
    left join loan_caps on loans.loan_id = loan_caps.loan_id
    group by loans.loan_id, fundings.is_private_lending
)

select * from final
