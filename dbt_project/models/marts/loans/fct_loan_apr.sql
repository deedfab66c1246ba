{#-
    One row per loan as of the business date: nominal vs real APR (every fee and upfront
    deduction included) and the caps in force on the contract date.
-#}
with

loans as (
    select * from {{ ref('stg_platform__loans') }}
),

aprs as (
    select * from {{ ref('int_loan_aprs_computed') }}
),

flows as (
    select
        loan_id,
        sum(case when flow_kind = 'payment' then amount else 0 end) as total_repayable
    from {{ ref('int_loan_cash_flows_assembled') }}
    group by loan_id
),

reference_rates as (
    select * from {{ ref('stg_reference__lpr_one_year_rates') }}
),

lpr_multiple as (
    select * from {{ ref('stg_reference__rate_cap_policies') }}
    where cap_kind = 'lpr_multiple'
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
        cast(aprs.real_apr_compound as double) as real_apr_compound,
        cast(aprs.apr_convention as varchar) as apr_convention,
        cast(coalesce(aprs.installment_count, 0) as integer) as installment_count,
        cast(aprs.apr_error as varchar) as apr_error,
        reference_rates.reference_rate as lpr_at_contract,
        cast(lpr_multiple.multiplier * reference_rates.reference_rate as decimal(12, 8)) as lpr_cap_rate
    from loans
    left join aprs on loans.loan_id = aprs.loan_id
    left join flows on loans.loan_id = flows.loan_id
    left join reference_rates
        on loans.contract_date >= reference_rates.valid_from
        and (reference_rates.valid_to is null or loans.contract_date < reference_rates.valid_to)
    left join lpr_multiple
        on loans.contract_date >= lpr_multiple.valid_from
        and (lpr_multiple.valid_to is null or loans.contract_date < lpr_multiple.valid_to)
)

select * from final
