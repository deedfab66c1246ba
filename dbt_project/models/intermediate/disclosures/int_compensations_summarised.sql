{#-
    Compensation: repayments made by someone other than the borrower (a guarantor, the
    platform or its risk reserve) by the business date D, one row per loan and payer type,
    with the amount (principal + interest + fee + penalty) and the number of payments
    (CBRC [2017] No. 113 art. 10(9): cumulative compensated amount and count).

    compensated_amount is in the loan's currency; compensated_amount_reporting in the
    pack's reporting currency, each payment converted at the rate of its own date (a flow)
    to the cent before the sum, null when a rate is missing (money_in_reporting_currency).
-#}
with

repayments as (
    select * from {{ ref('stg_platform__repayments') }}
    where cast(paid_at as date) <= {{ business_date() }}
        and payer_type <> 'borrower'
),

loans as (
    select loan_id, currency from {{ ref('stg_platform__loans') }}
),

fx_rates as (
    select * from {{ ref('stg_platform__fx_rates') }}
),

payments as (
    select
        repayments.loan_id,
        repayments.payer_type,
        cast(repayments.paid_at as date) as paid_date,
        loans.currency,
        cast(repayments.principal_paid + repayments.interest_paid + repayments.fee_paid + repayments.penalty_paid
            as decimal(18, 2)) as paid_amount,
        {{ cny_per_unit('loans.currency', 'own_rate') }} as own_cny_per_unit,
        {{ cny_per_unit("'" ~ reporting_currency() ~ "'", 'reporting_rate') }} as reporting_cny_per_unit
    from repayments
    left join loans on repayments.loan_id = loans.loan_id
    left join fx_rates as own_rate
        on own_rate.currency = loans.currency
        and own_rate.rate_date = cast(repayments.paid_at as date)
    left join fx_rates as reporting_rate
        on reporting_rate.currency = '{{ reporting_currency() }}'
        and reporting_rate.rate_date = cast(repayments.paid_at as date)
),

converted as (
    select
        payments.*,
        {{ money_in_reporting_currency('paid_amount', 'currency', 'own_cny_per_unit', 'reporting_cny_per_unit') }}
            as paid_amount_reporting
    from payments
),

final as (
    select
        loan_id,
        payer_type,
        cast(sum(paid_amount) as decimal(18, 2)) as compensated_amount,
        cast({{ sum_converted('paid_amount_reporting') }} as decimal(18, 2)) as compensated_amount_reporting,
        cast(count(*) as integer) as compensated_payment_count,
        min(paid_date) as first_compensated_date
    from converted
    group by loan_id, payer_type
)

select * from final
