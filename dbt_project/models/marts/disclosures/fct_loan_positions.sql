{#-
    One row per loan disbursed by the business date D: what is outstanding (principal,
    interest), whether and how long it is overdue, what was written off and compensated,
    and its real APR with the caps of its contract date (from fct_loan_apr). The disclosure
    indicators, the borrower exposures and the related-party rule read it.

    Outstanding: an active loan with principal still unpaid (a settled or written-off loan
    is not). Overdue: an outstanding loan with an installment due before D still unpaid;
    its days past due are those of its oldest unpaid installment. Written-off principal:
    what was still unpaid on the write-off date of a loan written off by D (gross: what
    came in later does not shrink it); recovered amount: everything received on such a
    loan after its write-off date, by D (principal, interest, fees, penalties) - the
    cumulative loss rate is given gross and net of it (REGULATION.md).

    Installments: delivered, or rebuilt from the loan's terms when the platform delivered
    no schedule for it (schedule_source 'terms', is_schedule_derived); 'none' when neither
    (a term that gives no schedule): such a loan can never be overdue here, and the
    data-quality rule <pack>.data_quality.loan_schedule_not_derivable raises it.

    Every amount is in the loan's currency (``currency``); the ``*_reporting`` columns hold
    the same amounts in the pack's reporting currency (``reporting_currency``: CNY for cn,
    USD for us), which the borrower exposures and the disclosures sum. Stocks convert at
    D's rate (outstanding principal and interest, overdue amount), flows at their own
    date's rate (principal at the disbursement date, principal written off at the
    write-off date, each compensation and recovery payment at its payment date), one loan or payment
    at a time to the cent (money_in_reporting_currency). A rate that is missing leaves the
    converted amount null and sets has_missing_fx_rate; fct_fx_rates_used names the gap.
-#}
with

loans as (
    select * from {{ ref('stg_platform__loans') }}
    where disbursement_date <= {{ business_date() }}
),

repaid as (
    select
        allocated.loan_id,
        sum(allocated.principal_allocated) as principal_repaid,
        sum(allocated.interest_allocated) as interest_repaid,
        -- principal repaid by the write-off date: what was left unpaid then is what was written off
        sum(
            case when loans.written_off_date is null or allocated.paid_date <= loans.written_off_date
                then allocated.principal_allocated else 0 end
        ) as principal_repaid_before_write_off,
        -- everything received on a written-off loan after its write-off date: recoveries
        sum(
            case when loans.status = 'written_off' and allocated.paid_date > loans.written_off_date
                then allocated.principal_allocated + allocated.interest_allocated + allocated.fee_allocated
                    + allocated.penalty_paid
                else 0 end
        ) as recovered_amount
    from {{ ref('int_repayments_allocated') }} as allocated
    inner join loans on allocated.loan_id = loans.loan_id
    group by allocated.loan_id
),

installments as (
    select
        loan_id,
        count(*) as installment_count,
        max(schedule_source) as schedule_source,
        sum(interest_unpaid) as interest_unpaid,
        sum(case when is_overdue then 1 else 0 end) as overdue_installment_count,
        max(days_past_due) as days_past_due,
        sum(case when is_overdue then principal_unpaid + interest_unpaid + fee_unpaid else 0 end) as overdue_amount,
        sum(case when is_overdue then principal_unpaid else 0 end) as overdue_principal_due
    from {{ ref('int_installments_aged') }}
    group by loan_id
),

compensations as (
    select
        loan_id,
        sum(compensated_amount) as compensated_amount,
        cast({{ sum_converted('compensated_amount_reporting') }} as decimal(18, 2)) as compensated_amount_reporting,
        sum(compensated_payment_count) as compensated_payment_count
    from {{ ref('int_compensations_summarised') }}
    group by loan_id
),

fx_rates as (
    select * from {{ ref('stg_platform__fx_rates') }}
),

-- Recoveries (received on a written-off loan after its write-off date) are flows: each
-- payment in the reporting currency at the rate of its own date, to the cent, then summed.
recovery_payments as (
    select
        allocated.loan_id,
        allocated.payment_id,
        allocated.paid_date,
        max(loans.currency) as currency,
        cast(sum(
            allocated.principal_allocated + allocated.interest_allocated + allocated.fee_allocated
                + allocated.penalty_paid
        ) as decimal(18, 2)) as recovered_amount
    from {{ ref('int_repayments_allocated') }} as allocated
    inner join loans on allocated.loan_id = loans.loan_id
    where loans.status = 'written_off' and allocated.paid_date > loans.written_off_date
    group by allocated.loan_id, allocated.payment_id, allocated.paid_date
),

recoveries as (
    select
        recovery_payments.loan_id,
        cast({{ sum_converted(money_in_reporting_currency(
            'recovery_payments.recovered_amount',
            'recovery_payments.currency',
            cny_per_unit('recovery_payments.currency', 'own_rate'),
            cny_per_unit("'" ~ reporting_currency() ~ "'", 'reporting_rate')
        )) }} as decimal(18, 2)) as recovered_amount_reporting
    from recovery_payments
    left join fx_rates as own_rate
        on own_rate.currency = recovery_payments.currency
        and own_rate.rate_date = recovery_payments.paid_date
    left join fx_rates as reporting_rate
        on reporting_rate.currency = '{{ reporting_currency() }}'
        and reporting_rate.rate_date = recovery_payments.paid_date
    group by recovery_payments.loan_id
),

aprs as (
    select * from {{ ref('fct_loan_apr') }}
),

positions as (
    select
        loans.*,
        cast(coalesce(repaid.principal_repaid, 0) as decimal(18, 2)) as principal_repaid,
        cast(greatest(loans.principal - coalesce(repaid.principal_repaid_before_write_off, 0), 0) as decimal(18, 2))
            as principal_unpaid_at_write_off,
        cast(coalesce(repaid.recovered_amount, 0) as decimal(18, 2)) as recovered_amount,
        cast(greatest(loans.principal - coalesce(repaid.principal_repaid, 0), 0) as decimal(18, 2))
            as remaining_principal,
        loans.status = 'active' and loans.principal - coalesce(repaid.principal_repaid, 0) > 0 as is_outstanding,
        loans.status = 'written_off' as is_written_off,
        coalesce(installments.installment_count, 0) as installment_count,
        coalesce(installments.schedule_source, 'none') as schedule_source,
        coalesce(installments.interest_unpaid, 0) as interest_unpaid,
        coalesce(installments.overdue_installment_count, 0) as overdue_installment_count,
        coalesce(installments.days_past_due, 0) as installment_days_past_due,
        coalesce(installments.overdue_amount, 0) as installment_overdue_amount,
        coalesce(compensations.compensated_amount, 0) as compensated_amount,
        case when compensations.loan_id is null then cast(0 as decimal(18, 2))
            else compensations.compensated_amount_reporting end as compensated_amount_reporting,
        coalesce(compensations.compensated_payment_count, 0) as compensated_payment_count,
        case when loans.status <> 'written_off' or recoveries.loan_id is null then cast(0 as decimal(18, 2))
            else recoveries.recovered_amount_reporting end as recovered_amount_reporting
    from loans
    left join repaid on loans.loan_id = repaid.loan_id
    left join installments on loans.loan_id = installments.loan_id
    left join compensations on loans.loan_id = compensations.loan_id
    left join recoveries on loans.loan_id = recoveries.loan_id
),

-- The rates each conversion reads: the loan's currency and the reporting currency, at D,
-- at the disbursement date and at the write-off date.
rated as (
    select
        positions.*,
        {{ cny_per_unit('positions.currency', 'own_on_d') }} as own_rate_on_d,
        {{ cny_per_unit("'" ~ reporting_currency() ~ "'", 'reporting_on_d') }} as reporting_rate_on_d,
        {{ cny_per_unit('positions.currency', 'own_disbursed') }} as own_rate_disbursed,
        {{ cny_per_unit("'" ~ reporting_currency() ~ "'", 'reporting_disbursed') }} as reporting_rate_disbursed,
        {{ cny_per_unit('positions.currency', 'own_written_off') }} as own_rate_written_off,
        {{ cny_per_unit("'" ~ reporting_currency() ~ "'", 'reporting_written_off') }} as reporting_rate_written_off
    from positions
    {%- for alias, currency, day in [
        ('own_on_d', 'positions.currency', business_date()),
        ('reporting_on_d', "'" ~ reporting_currency() ~ "'", business_date()),
        ('own_disbursed', 'positions.currency', 'positions.disbursement_date'),
        ('reporting_disbursed', "'" ~ reporting_currency() ~ "'", 'positions.disbursement_date'),
        ('own_written_off', 'positions.currency', 'coalesce(positions.written_off_date, ' ~ business_date() ~ ')'),
        ('reporting_written_off', "'" ~ reporting_currency() ~ "'", 'coalesce(positions.written_off_date, ' ~ business_date() ~ ')'),
    ] %}
    left join fx_rates as {{ alias }}
        on {{ alias }}.currency = {{ currency }}
        and {{ alias }}.rate_date = {{ day }}
    {%- endfor %}
),

converted as (
    select
        rated.*,
        {{ money_in_reporting_currency('rated.principal', 'rated.currency', 'rated.own_rate_disbursed', 'rated.reporting_rate_disbursed') }}
            as principal_reporting,
        {{ money_in_reporting_currency(
            'case when rated.is_outstanding then rated.remaining_principal else 0 end',
            'rated.currency', 'rated.own_rate_on_d', 'rated.reporting_rate_on_d'
        ) }} as outstanding_principal_reporting,
        {{ money_in_reporting_currency(
            'case when rated.is_outstanding then rated.interest_unpaid else 0 end',
            'rated.currency', 'rated.own_rate_on_d', 'rated.reporting_rate_on_d'
        ) }} as outstanding_interest_reporting,
        {{ money_in_reporting_currency(
            'case when rated.is_outstanding then rated.installment_overdue_amount else 0 end',
            'rated.currency', 'rated.own_rate_on_d', 'rated.reporting_rate_on_d'
        ) }} as overdue_amount_reporting,
        {{ money_in_reporting_currency(
            'case when rated.is_written_off then rated.principal_unpaid_at_write_off else 0 end',
            'rated.currency', 'rated.own_rate_written_off', 'rated.reporting_rate_written_off'
        ) }} as written_off_principal_reporting
    from rated
),

final as (
    select
        {{ business_date() }} as business_date,
        positions.loan_id,
        positions.borrower_id,
        positions.borrower_type,
        positions.product_code,
        positions.partner_id,
        positions.is_related_party,
        positions.status,
        positions.contract_date,
        positions.disbursement_date,
        positions.written_off_date,
        positions.currency,
        positions.principal,
        positions.principal_repaid,
        positions.remaining_principal,
        positions.is_outstanding,
        cast(case when positions.is_outstanding then positions.remaining_principal else 0 end as decimal(18, 2))
            as outstanding_principal,
        cast(case when positions.is_outstanding then positions.interest_unpaid else 0 end as decimal(18, 2))
            as outstanding_interest,
        cast(positions.installment_count as integer) as installment_count,
        positions.term_months,
        positions.repayment_method,
        cast(positions.schedule_source as {{ dbt.type_string() }}) as schedule_source,
        positions.schedule_source = 'terms' as is_schedule_derived,
        positions.is_outstanding and positions.overdue_installment_count > 0 as is_overdue,
        cast(case when positions.is_outstanding then positions.installment_days_past_due else 0 end as integer)
            as days_past_due,
        {{ aging_bucket('case when positions.is_outstanding then positions.installment_days_past_due else 0 end') }}
            as aging_bucket,
        positions.is_outstanding
            and positions.installment_days_past_due > {{ pack_param('serious_overdue_days') }} as is_overdue_90_plus,
        cast(case when positions.is_outstanding then positions.installment_overdue_amount else 0 end as decimal(18, 2))
            as overdue_amount,
        positions.is_written_off,
        cast(case when positions.is_written_off then positions.principal_unpaid_at_write_off else 0 end as decimal(18, 2))
            as written_off_principal,
        cast(case when positions.is_written_off then positions.recovered_amount else 0 end as decimal(18, 2))
            as recovered_amount,
        cast(positions.compensated_amount as decimal(18, 2)) as compensated_amount,
        cast(positions.compensated_payment_count as integer) as compensated_payment_count,
        aprs.real_apr,
        aprs.apr_convention,
        aprs.is_private_lending,
        aprs.court_cap_rate,
        aprs.comprehensive_cap_rate,
        aprs.void_line_rate,
        cast('{{ reporting_currency() }}' as {{ dbt.type_string() }}) as reporting_currency,
        positions.principal_reporting,
        positions.outstanding_principal_reporting,
        positions.outstanding_interest_reporting,
        positions.overdue_amount_reporting,
        positions.written_off_principal_reporting,
        positions.compensated_amount_reporting,
        positions.recovered_amount_reporting,
        (
            positions.principal_reporting is null
            or positions.outstanding_principal_reporting is null
            or positions.outstanding_interest_reporting is null
            or positions.overdue_amount_reporting is null
            or positions.written_off_principal_reporting is null
            or positions.compensated_amount_reporting is null
            or positions.recovered_amount_reporting is null
        ) as has_missing_fx_rate
    from converted as positions
    left join aprs on positions.loan_id = aprs.loan_id
)

select * from final
