{{ config(materialized='incremental', unique_key='business_date', incremental_strategy=by_key_strategy(), on_schema_change='fail', full_refresh=false, spark_materialize_ctes=true) }}
{#-
    The disclosure indicators of CBRC [2017] No. 113 art. 10 (and the quarterly items the
    seeds add: bad-debt rate, real annualised rate, partner list) for each period that
    contains the business date D - its month and its quarter - as of D. One row per
    indicator (and breakdown: aging bucket, payer type, partner, product fee). Incremental
    by business date: every run keeps its own rows (a rerun of D replaces them), so the
    table holds the indicators of every month end and quarter end that was run
    (is_period_closed: D is the period's last weekday), and the trend within each period.
    Its earlier dates' rows are results, not a function of the raw layer: a day that cannot
    continue from the last build (regwatch.transform: dbt --full-refresh) rebuilds every
    other model from scratch but never this table (full_refresh=false).

    The indicators are the rows of the catalogue seed disclosure_indicators in force at the
    period end (its order, group, label, unit, legal basis and definition templates); this
    model gives each row its value, one call of the macro disclosure_indicator per row (a
    measure, or a numerator over a denominator, from the CTEs below). A catalogue row
    without a value here, or a value without a catalogue row, is not shown.

    Every indicator carries its definition (its legal basis through the macro
    disclosure_basis: the CN article, or what the pack maps it to), numerator and denominator; the project and
    amount overdue rates, the bad-debt rate and the cumulative loss rates (gross and net of
    recoveries) take theirs from the pack parameters project_overdue_rate,
    amount_overdue_rate, bad_debt_rate, cumulative_loss_rate and cumulative_loss_rate_net.

    Every measure is a stock (a balance as of D) or a flow (cumulated since inception, or
    over the period). The bad-debt rate and the loss rates have no single legal formula, so
    REGULATION.md keeps each one's numerator and denominator of the same kind and never
    divides a cumulative amount by a point-in-time balance: a pack that does is refused
    when the model compiles. Its defaults: bad-debt rate (stock, like a bank's NPL ratio) =
    principal of loans more than 90 days past due, not written off / outstanding principal;
    cumulative loss rate (flow) = principal written off since inception (gross; net of
    recoveries as a second figure) / principal lent since inception.

    Money is in the pack's reporting currency (macro reporting_currency; its code is the
    unit of every amount): the ``*_reporting`` columns of fct_loan_positions, stocks at
    D's FX rate, flows (principal disbursed, written off, compensated) at their own date's,
    converted per loan or payment to the cent before the sum. A total that would need a
    missing rate is null (n/a in the filing), never a partial sum or a sum of currencies;
    the gap is an exception naming the currency and date (fct_fx_rates_used).
-#}
{%- set money = reporting_currency() -%}
{%- set money_note = ' (in ' ~ money ~ ', the pack reporting currency: stocks at the FX rate of the business date, flows at the rate of their own date, per loan to the cent)' -%}
{%- set measures = {
    'cumulative_loan_amount': 'principal of every loan disbursed to date',
    'cumulative_loan_count': 'loans disbursed to date',
    'period_loan_amount': 'principal of the loans disbursed in the period',
    'period_loan_count': 'loans disbursed in the period',
    'outstanding_principal': 'principal still unpaid on active loans',
    'outstanding_loan_count': 'active loans with principal unpaid',
    'outstanding_interest': 'scheduled interest still unpaid on active loans',
    'overdue_amount': 'principal, interest and fees of installments past due and unpaid',
    'overdue_loan_count': 'active loans with an installment past due and unpaid',
    'overdue_loan_principal': 'principal unpaid on active loans with an installment past due',
    'overdue_90_plus_amount': 'past-due unpaid amounts of loans more than 90 days past due',
    'overdue_90_plus_loan_count': 'active loans more than 90 days past due (exactly 90 not included)',
    'overdue_90_plus_loan_principal': 'outstanding principal of loans more than 90 days past due, not written off',
    'written_off_principal': 'principal unpaid on the write-off date, loans written off since inception (gross)',
    'recovered_amount': 'received on written-off loans after their write-off date, since inception (principal, interest, fees, penalties)',
    'written_off_principal_net': 'principal written off since inception net of recoveries (received on written-off loans after their write-off date)',
    'written_off_loan_count': 'loans written off to date',
    'related_party_outstanding_principal': 'outstanding principal of loans to related parties',
    'related_party_loan_count': 'outstanding loans to related parties',
    'compensated_amount': 'paid by a guarantor or the platform instead of the borrower, to date',
    'compensated_payment_count': 'payments made by a guarantor or the platform, to date',
    'top10_outstanding_principal': 'outstanding principal of the 10 largest borrowers',
    'largest_outstanding_principal': 'outstanding principal of the largest borrower',
    'cumulative_lender_count': 'distinct funders of the loans disbursed to date',
    'cumulative_borrower_count': 'distinct borrowers of the loans disbursed to date',
    'period_lender_count': 'distinct funders who funded in the period',
    'period_borrower_count': 'distinct borrowers of the loans disbursed in the period',
} -%}
{%- set stocks = [
    'outstanding_principal', 'outstanding_loan_count', 'outstanding_interest', 'overdue_amount',
    'overdue_loan_count', 'overdue_loan_principal', 'overdue_90_plus_amount', 'overdue_90_plus_loan_count',
    'overdue_90_plus_loan_principal', 'related_party_outstanding_principal', 'related_party_loan_count',
    'top10_outstanding_principal', 'largest_outstanding_principal',
] -%}
{%- set kind_phrases = {
    'stock': 'stock over stock, both as of the business date',
    'flow': 'flow over flow, both since inception to the business date',
} -%}
{#- The ratios REGULATION.md defines by default, when a pack (sealed before them) lacks the parameter. -#}
{%- set rate_defaults = {
    'cumulative_loss_rate': {'numerator': 'written_off_principal', 'denominator': 'cumulative_loan_amount'},
    'cumulative_loss_rate_net': {'numerator': 'written_off_principal_net', 'denominator': 'cumulative_loan_amount'},
} -%}
{#- The ratios whose numerator and denominator the pack parameter of the same name sets, and
    those REGULATION.md keeps to one kind (stock over stock, flow over flow). -#}
{%- set pack_ratios = ['project_overdue_rate', 'amount_overdue_rate', 'bad_debt_rate', 'cumulative_loss_rate', 'cumulative_loss_rate_net'] -%}
{%- set one_kind_ratios = ['bad_debt_rate', 'cumulative_loss_rate', 'cumulative_loss_rate_net'] -%}
{#- The measures shown as they are (the catalogue row's id is the measure's name). -#}
{%- set totals = [
    'cumulative_loan_amount', 'cumulative_loan_count', 'period_loan_amount', 'period_loan_count',
    'outstanding_principal', 'outstanding_loan_count', 'outstanding_interest',
    'cumulative_lender_count', 'cumulative_borrower_count', 'period_lender_count', 'period_borrower_count',
    'related_party_outstanding_principal', 'related_party_loan_count',
    'overdue_amount', 'overdue_loan_count', 'overdue_loan_principal',
    'overdue_90_plus_amount', 'overdue_90_plus_loan_count', 'overdue_90_plus_loan_principal',
    'written_off_principal', 'written_off_loan_count', 'recovered_amount', 'written_off_principal_net',
    'compensated_amount', 'compensated_payment_count',
] -%}
with

periods as (
    {{ disclosure_periods() }}
),

positions as (
    select
        *,
        -- Principal x real APR per loan, fixed to a DECIMAL here: a sum of DOUBLEs depends on
        -- the order its rows are added in (parallel aggregation), and the filing must be
        -- byte-reproducible; a DECIMAL sum is exact in any order. Rounded as DuckDB casts a
        -- double on Spark too (double_as_decimal): the 1M-transaction day's weighted sum was
        -- 25057183.577596 on DuckDB and ...595 on Spark.
        {{ double_as_decimal('cast(principal_reporting as double) * real_apr', 38, 6) }} as apr_weighted_principal
    from {{ ref('fct_loan_positions') }}
),

balances as (
    -- An empty book (no loans yet) sums to zero, not NULL: its filing shows zeros (issue 14).
    select
        cast({{ sum_converted('principal_reporting') }} as decimal(18, 2)) as cumulative_loan_amount,
        count(*) as cumulative_loan_count,
        cast({{ sum_converted('outstanding_principal_reporting') }} as decimal(18, 2)) as outstanding_principal,
        coalesce(sum(case when is_outstanding then 1 else 0 end), 0) as outstanding_loan_count,
        cast({{ sum_converted('outstanding_interest_reporting') }} as decimal(18, 2)) as outstanding_interest,
        cast({{ sum_converted('overdue_amount_reporting') }} as decimal(18, 2)) as overdue_amount,
        coalesce(sum(case when is_overdue then 1 else 0 end), 0) as overdue_loan_count,
        cast({{ sum_converted('case when is_overdue then outstanding_principal_reporting else 0 end') }} as decimal(18, 2)) as overdue_loan_principal,
        cast({{ sum_converted('case when is_overdue_90_plus then overdue_amount_reporting else 0 end') }} as decimal(18, 2)) as overdue_90_plus_amount,
        coalesce(sum(case when is_overdue_90_plus then 1 else 0 end), 0) as overdue_90_plus_loan_count,
        cast({{ sum_converted('case when is_overdue_90_plus then outstanding_principal_reporting else 0 end') }} as decimal(18, 2))
            as overdue_90_plus_loan_principal,
        cast({{ sum_converted('written_off_principal_reporting') }} as decimal(18, 2)) as written_off_principal,
        cast({{ sum_converted('recovered_amount_reporting') }} as decimal(18, 2)) as recovered_amount,
        cast({{ sum_converted('written_off_principal_reporting - recovered_amount_reporting') }} as decimal(18, 2))
            as written_off_principal_net,
        coalesce(sum(case when is_written_off then 1 else 0 end), 0) as written_off_loan_count,
        cast({{ sum_converted('case when is_related_party and is_outstanding then outstanding_principal_reporting else 0 end') }} as decimal(18, 2))
            as related_party_outstanding_principal,
        coalesce(sum(case when is_related_party and is_outstanding then 1 else 0 end), 0) as related_party_loan_count,
        cast({{ sum_converted('compensated_amount_reporting') }} as decimal(18, 2)) as compensated_amount,
        coalesce(sum(compensated_payment_count), 0) as compensated_payment_count
    from positions
),

concentration as (
    select * from {{ ref('fct_platform_concentration') }}
),

participants as (
    select * from {{ ref('int_participants_counted') }}
),

period_lending as (
    select
        periods.period_kind,
        cast({{ sum_converted('positions.principal_reporting', key='positions.loan_id') }} as decimal(18, 2))
            as period_loan_amount,
        count(positions.loan_id) as period_loan_count,
        count(positions.real_apr) as apr_loan_count,
        cast({{ sum_converted('case when positions.real_apr is not null then positions.principal_reporting else 0 end', key='positions.loan_id') }}
            as decimal(18, 2)) as apr_principal,
        case when {{ sum_converted('positions.principal_reporting', key='positions.loan_id') }} is not null
            then sum(positions.apr_weighted_principal)
        end as apr_weighted_sum,
        max(positions.real_apr) as apr_max,
        sum(case when positions.real_apr > positions.comprehensive_cap_rate then 1 else 0 end) as above_comprehensive_count,
        sum(case when positions.real_apr > positions.void_line_rate then 1 else 0 end) as above_void_line_count,
        sum(case when positions.real_apr > positions.court_cap_rate then 1 else 0 end) as above_court_cap_count
    from periods
    left join positions
        on positions.disbursement_date >= periods.period_start
        and positions.disbursement_date <= periods.period_end
    group by periods.period_kind
),

measures as (
    select
        periods.*,
        balances.*,
        concentration.top10_outstanding_principal,
        concentration.largest_outstanding_principal,
        participants.cumulative_borrower_count,
        participants.period_borrower_count,
        participants.cumulative_lender_count,
        participants.period_lender_count,
        period_lending.period_loan_amount,
        period_lending.period_loan_count,
        period_lending.apr_loan_count,
        period_lending.apr_principal,
        period_lending.apr_weighted_sum,
        period_lending.apr_max,
        period_lending.above_comprehensive_count,
        period_lending.above_void_line_count,
        period_lending.above_court_cap_count
    from periods
    cross join balances
    cross join concentration
    inner join participants on periods.period_kind = participants.period_kind
    inner join period_lending on periods.period_kind = period_lending.period_kind
),

catalogue as (
    select * from {{ ref('stg_reference__disclosure_indicators') }}
),

-- Aging of the outstanding principal by days past due (buckets from the pack).
aging as (
    select
        buckets.aging_bucket,
        buckets.aging_bucket || case when buckets.aging_bucket = 'current' then '' else ' days past due' end as bucket_label,
        by_bucket.aging_bucket is not null as has_loans,
        by_bucket.outstanding_principal,
        by_bucket.loan_count
    from (
        {%- for label in aging_bucket_labels() %}
        select '{{ label }}' as aging_bucket{{ " union all" if not loop.last }}
        {%- endfor %}
    ) as buckets
    left join (
        select aging_bucket, {{ sum_converted('outstanding_principal_reporting') }} as outstanding_principal, count(*) as loan_count
        from positions where is_outstanding group by aging_bucket
    ) as by_bucket on buckets.aging_bucket = by_bucket.aging_bucket
),

-- Compensation by who paid.
compensation as (
    select
        payers.payer_type,
        by_payer.payer_type is not null as has_payments,
        by_payer.compensated_amount,
        by_payer.compensated_payment_count
    from (select 'guarantor' as payer_type union all select 'platform' as payer_type) as payers
    left join (
        select
            payer_type,
            {{ sum_converted('compensated_amount_reporting') }} as compensated_amount,
            sum(compensated_payment_count) as compensated_payment_count
        from {{ ref('int_compensations_summarised') }} group by payer_type
    ) as by_payer on payers.payer_type = by_payer.payer_type
),

-- The real APR of the period's loans in 2-point bins (the last is open), for the chart.
apr_bins as (
    {%- for k in range(20) %}
    select '{{ "%02d" % (2 * k) }}' as bin_key, 'from {{ 2 * k }}% to under {{ 2 * k + 2 }}%' as bin_label,
        {{ k }} as bin_number{{ " union all" if not loop.last }}
    {%- endfor %}
    union all select '40+' as bin_key, 'of 40% or more' as bin_label, 20 as bin_number
),

-- The partner list: every partner institution in force at the period end, with its book.
partner_books as (
    select
        partner_id,
        {{ sum_converted('outstanding_principal_reporting') }} as outstanding_principal,
        sum(case when is_outstanding then 1 else 0 end) as outstanding_loan_count
    from positions
    group by partner_id
),

{%- set period_loans -%}
    periods
    left join positions
        on positions.disbursement_date >= periods.period_start
        and positions.disbursement_date <= periods.period_end
{%- endset %}
{%- set period_bins -%}
    periods
    cross join apr_bins
    left join positions
        on positions.disbursement_date >= periods.period_start
        and positions.disbursement_date <= periods.period_end
        and positions.real_apr is not null
        and least(greatest(cast(floor(positions.real_apr * 50 + 1e-9) as integer), 0), 20) = apr_bins.bin_number
{%- endset %}
{%- set period_partners -%}
    periods
    inner join {{ ref('stg_reference__partner_institutions') }} as partners
        on {{ in_force('partners', 'periods.period_end') }}
    left join partner_books on partners.partner_id = partner_books.partner_id
{%- endset %}
{%- set period_fees -%}
    periods
    inner join {{ ref('stg_reference__product_fee_schedules') }} as fees
        on {{ in_force('fees', 'periods.period_end') }}
{%- endset %}
{%- set partner_label = "partners.partner_name || ' (' || partners.partner_role || '; ' || partners.licence || ')'" %}
{%- set fee_texts = {
    'breakdown': "fees.product_code || ' ' || replace(fees.fee_name, '_', ' ')",
    'numerator': 'fees.charge_basis',
} %}

-- One row per indicator (and breakdown), each one catalogue row's value.
indicator_values as (
    {%- for id in totals %}
    {{ disclosure_indicator(id, id, texts={'numerator': sql_string(measures[id])}) }}
    union all
    {%- endfor %}
    {%- for id in pack_ratios %}
    {%- set spec = pack_value(id) if id not in rate_defaults or id in (var('pack', {}) or {}) else rate_defaults[id] %}
    {%- set terms = {'numerator': spec['numerator'] if spec['numerator'] is not string else [spec['numerator']], 'denominator': spec['denominator']} %}
    {%- for term in terms.numerator + [terms.denominator] %}
    {%- if term not in measures %}
    {{ exceptions.raise_compiler_error(id ~ ": unknown measure " ~ term ~ " (one of " ~ (measures.keys() | list | join(', ')) ~ ")") }}
    {%- endif %}
    {%- endfor %}
    {%- set kind = 'stock' if terms.denominator in stocks else 'flow' %}
    {%- set one_kind = id in one_kind_ratios %}
    {%- if one_kind %}
    {%- for term in terms.numerator %}
    {%- if ('stock' if term in stocks else 'flow') != kind %}
    {{ exceptions.raise_compiler_error(id ~ " divides " ~ term ~ " (" ~ ('stock' if term in stocks else 'flow') ~ ") by " ~ terms.denominator ~ " (" ~ kind ~ "): keep a ratio's numerator and denominator of one kind, never a cumulative amount over a point-in-time balance (REGULATION.md); fix the pack parameter " ~ id) }}
    {%- endif %}
    {%- endfor %}
    {%- endif %}
    {%- set numerator_texts = [] %}
    {%- for term in terms.numerator %}{% set _ = numerator_texts.append(measures[term]) %}{% endfor %}
    {%- set numerator_text = numerator_texts | join(' plus ') %}
    {%- set formula = terms.numerator | join(' + ') ~ ' / ' ~ terms.denominator %}
    {{ disclosure_indicator(id, terms.numerator | join(' + '), terms.denominator, texts={
        'numerator': sql_string(terms.numerator | join(' + ') ~ ': ' ~ numerator_text),
        'denominator': sql_string(terms.denominator ~ ': ' ~ measures[terms.denominator]),
        'formula': sql_string(formula ~ ': ' ~ numerator_text ~ ' over ' ~ measures[terms.denominator] if one_kind else formula),
        'ratio_kind': sql_string(kind_phrases[kind] ~ '; ' if one_kind else ''),
    }) }}
    union all
    {%- endfor %}
    {%- for id, numerator in [('top10_borrower_share', 'top10_outstanding_principal'), ('largest_borrower_share', 'largest_outstanding_principal')] %}
    {{ disclosure_indicator(id, numerator, 'outstanding_principal', texts={
        'numerator': sql_string(numerator ~ ': ' ~ measures[numerator]),
        'denominator': sql_string('outstanding_principal: ' ~ measures['outstanding_principal']),
    }) }}
    union all
    {%- endfor %}
    {%- for id, numerator, denominator in [
        ('real_apr_weighted_mean', 'apr_weighted_sum', 'apr_principal'),
        ('real_apr_max', 'apr_max', none),
        ('real_apr_share_above_comprehensive_cap', 'above_comprehensive_count', 'apr_loan_count'),
        ('real_apr_share_above_void_line', 'above_void_line_count', 'apr_loan_count'),
        ('real_apr_share_above_court_cap', 'above_court_cap_count', 'apr_loan_count'),
    ] %}
    {{ disclosure_indicator(id, numerator, denominator, numerator_value='round(' ~ numerator ~ ', 8)') }}
    union all
    {%- endfor %}
    {{ disclosure_indicator('outstanding_principal_by_aging',
        'case when aging.has_loans then aging.outstanding_principal else 0 end',
        from_sql='periods cross join aging', breakdown_key='aging.aging_bucket', texts={'breakdown': 'aging.bucket_label'}) }}
    union all
    {{ disclosure_indicator('outstanding_loans_by_aging', 'coalesce(aging.loan_count, 0)',
        from_sql='periods cross join aging', breakdown_key='aging.aging_bucket', texts={'breakdown': 'aging.bucket_label'}) }}
    union all
    {%- for id, column in [('compensated_amount_by_payer', 'compensated_amount'), ('compensated_payments_by_payer', 'compensated_payment_count')] %}
    {{ disclosure_indicator(id, 'case when compensation.has_payments then compensation.' ~ column ~ ' else 0 end',
        from_sql='periods cross join compensation', breakdown_key='compensation.payer_type',
        texts={'breakdown': 'compensation.payer_type', 'numerator': sql_string(measures[column])}) }}
    union all
    {%- endfor %}
    {{ disclosure_indicator('real_apr_distribution', 'count(positions.loan_id)', from_sql=period_bins,
        group_by=['apr_bins.bin_key', 'apr_bins.bin_label'], breakdown_key='apr_bins.bin_key', texts={'breakdown': 'apr_bins.bin_label'}) }}
    union all
    {%- for cap in ['comprehensive_cap_rate', 'void_line_rate', 'court_cap_rate'] %}
    {{ disclosure_indicator('rate_cap_in_force', 'max(positions.' ~ cap ~ ')', from_sql=period_loans, group_by=[], breakdown_key=sql_string(cap)) }}
    union all
    {%- endfor %}
    {%- for id, column in [('partner_outstanding_principal', 'outstanding_principal'), ('partner_outstanding_loan_count', 'outstanding_loan_count')] %}
    {{ disclosure_indicator(id, 'case when partner_books.partner_id is null then 0 else partner_books.' ~ column ~ ' end',
        from_sql=period_partners, breakdown_key='partners.partner_id', texts={'breakdown': partner_label}) }}
    union all
    {%- endfor %}
    {{ disclosure_indicator('fee_rate_min', 'fees.rate_min', from_sql=period_fees,
        breakdown_key="fees.product_code || ':' || fees.fee_name", texts=fee_texts) }}
    union all
    {{ disclosure_indicator('fee_rate_max', 'fees.rate_max', from_sql=period_fees,
        breakdown_key="fees.product_code || ':' || fees.fee_name", texts=fee_texts) }}
),

indicators as (
    select
        indicator_values.period_kind,
        indicator_values.period_id,
        indicator_values.period_start,
        indicator_values.period_end,
        indicator_values.is_period_closed,
        catalogue.sort_order,
        indicator_values.indicator_id,
        catalogue.indicator_group,
        indicator_values.breakdown_key,
        {{ disclosure_indicator_texts('catalogue.label', 'catalogue', 'indicator_values', money_note) }} as label,
        case when catalogue.unit = 'money' then '{{ money }}' else catalogue.unit end as unit,
        indicator_values.value,
        indicator_values.numerator_value,
        indicator_values.denominator_value,
        {{ disclosure_indicator_texts('catalogue.numerator_definition', 'catalogue', 'indicator_values', money_note) }}
            as numerator_definition,
        {{ disclosure_indicator_texts('catalogue.denominator_definition', 'catalogue', 'indicator_values', money_note) }}
            as denominator_definition,
        {{ disclosure_indicator_texts('catalogue.definition', 'catalogue', 'indicator_values', money_note) }} as definition
    from indicator_values
    inner join catalogue
        on catalogue.indicator_id = indicator_values.indicator_id
        and catalogue.breakdown_key in (indicator_values.breakdown_key, '*')
        and {{ in_force('catalogue', 'indicator_values.period_end') }}
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(period_kind as {{ dbt.type_string() }}) as period_kind,
        cast(period_id as {{ dbt.type_string() }}) as period_id,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(is_period_closed as boolean) as is_period_closed,
        cast(sort_order as integer) as sort_order,
        cast(indicator_id as {{ dbt.type_string() }}) as indicator_id,
        cast(indicator_group as {{ dbt.type_string() }}) as indicator_group,
        cast(breakdown_key as {{ dbt.type_string() }}) as breakdown_key,
        cast(label as {{ dbt.type_string() }}) as label,
        cast(unit as {{ dbt.type_string() }}) as unit,
        value,
        numerator_value,
        denominator_value,
        cast(definition as {{ dbt.type_string() }}) as definition,
        cast(numerator_definition as {{ dbt.type_string() }}) as numerator_definition,
        cast(denominator_definition as {{ dbt.type_string() }}) as denominator_definition
    from indicators
)

select * from final
