{#-
    One row per loan as of the business date: nominal vs real APR (every fee and upfront
    deduction included, in the rule pack's convention, simple and compound), the loan's
    cash flows, the caps in force on its contract date with their sources, and overdue
    charges annualised (art. 29).
-#}
with

loans as (
    select * from {{ ref('stg_platform__loans') }}
),

aprs as (
    select * from {{ ref('int_loan_aprs_computed') }}
),

caps as (
    select * from {{ ref('int_loan_rate_caps_resolved') }}
),

overdue as (
    select * from {{ ref('int_loan_overdue_charges_annualised') }}
),

flows as (
    select * from {{ ref('int_loan_cash_flows_summarised') }}
),

final as (
    select
        {{ business_date() }} as business_date,
        loans.loan_id,
        loans.borrower_id,
        loans.borrower_type,
        loans.product_code,
        loans.repayment_method,
        loans.status,
        loans.contract_date,
        loans.disbursement_date,
        loans.currency,
        loans.principal,
        loans.upfront_fee,
        cast(loans.principal - loans.upfront_fee as decimal(18, 2)) as net_disbursed,
        cast(coalesce(flows.total_repayable, 0) as decimal(18, 2)) as total_repayable,
        cast(coalesce(flows.total_repayable, 0) - (loans.principal - loans.upfront_fee) as decimal(18, 2))
            as total_cost,
        loans.nominal_rate,
        cast(aprs.real_apr as double) as real_apr,
        cast(aprs.real_apr_simple as double) as real_apr_simple,
        cast(aprs.real_apr_compound as double) as real_apr_compound,
        cast(aprs.apr_convention as {{ dbt.type_string() }}) as apr_convention,
        cast(aprs.apr_unit_period as {{ dbt.type_string() }}) as apr_unit_period,
        cast(aprs.apr_periods_per_year as double) as apr_periods_per_year,
        cast(coalesce(aprs.installment_count, 0) as integer) as installment_count,
        cast(coalesce(aprs.cash_flow_source, 'none') as {{ dbt.type_string() }}) as cash_flow_source,
        cast(flows.cash_flows as {{ dbt.type_string() }}) as cash_flows,
        cast(aprs.apr_error as {{ dbt.type_string() }}) as apr_error,
        caps.is_private_lending,
        caps.lpr_at_contract,
        case when caps.is_private_lending then caps.court_cap_level end as court_cap_rate,
        case when caps.is_private_lending then caps.court_cap_source end as court_cap_source,
        caps.comprehensive_cap_rate,
        caps.comprehensive_cap_source,
        caps.void_line_rate,
        caps.void_line_source,
        cast(coalesce(overdue.late_payment_count, 0) as integer) as late_payment_count,
        cast(coalesce(overdue.overdue_charges, 0) as decimal(18, 2)) as overdue_charges,
        overdue.overdue_charge_rate,
        case
            when overdue.overdue_charge_rate is null then null
            when caps.is_private_lending then caps.court_cap_level
            else caps.comprehensive_cap_rate
        end as overdue_cap_rate,
        case
            when overdue.overdue_charge_rate is null then null
            when caps.is_private_lending then caps.court_cap_source
            else caps.comprehensive_cap_source
        end as overdue_cap_source,
        caps.us_apr_cap_rate,
        caps.us_apr_cap_source
    from loans
    left join aprs on loans.loan_id = aprs.loan_id
    left join flows on loans.loan_id = flows.loan_id
    left join caps on loans.loan_id = caps.loan_id
    left join overdue on loans.loan_id = overdue.loan_id
)

select * from final
