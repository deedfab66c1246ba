{{ config(materialized='incremental', unique_key='business_date', incremental_strategy='delete+insert', on_schema_change='fail') }}
{#-
    The disclosure indicators of CBRC [2017] No. 113 art. 10 (and the quarterly items the
    seeds add: bad-debt rate, real annualised rate, partner list) for each period that
    contains the business date D - its month and its quarter - as of D. One row per
    indicator (and breakdown: aging bucket, payer type, partner, product fee). Incremental
    by business date: every run keeps its own rows (a rerun of D replaces them), so the
    table holds the indicators of every month end and quarter end that was run
    (is_period_closed: D is the period's last weekday), and the trend within each period.

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
{#- (id, label, basis, numerator and denominator of one kind) -#}
{%- set rates = [
    ('project_overdue_rate', 'Project overdue rate', 'CBRC [2017] No. 113 art. 10(7); T/NIFA 1-2017', false),
    ('amount_overdue_rate', 'Amount overdue rate', 'CBRC [2017] No. 113 art. 10(7); T/NIFA 1-2017', false),
    ('bad_debt_rate', 'Bad-debt rate (stock)', 'quarterly core indicator (policy definition)', true),
    ('cumulative_loss_rate', 'Cumulative loss rate, gross (flow)', 'quarterly core indicator (policy definition)', true),
    ('cumulative_loss_rate_net', 'Cumulative loss rate, net of recoveries (flow)', 'quarterly core indicator (policy definition)', true),
] -%}
{%- set amounts = [
    ('cumulative_loan_amount', 'volume', 'Cumulative amount of loans arranged', money, 'art. 10(1)'),
    ('cumulative_loan_count', 'volume', 'Cumulative number of loans arranged', 'count', 'art. 10(1)'),
    ('period_loan_amount', 'volume', 'Amount of loans arranged in the period', money, 'art. 10(1)'),
    ('period_loan_count', 'volume', 'Number of loans arranged in the period', 'count', 'art. 10(1)'),
    ('outstanding_principal', 'balance', 'Outstanding balance (principal)', money, 'art. 10(2)'),
    ('outstanding_loan_count', 'balance', 'Outstanding loans', 'count', 'art. 10(2)'),
    ('outstanding_interest', 'balance', 'Outstanding interest', money, 'T/NIFA 1-2017'),
    ('cumulative_lender_count', 'participants', 'Cumulative number of lenders', 'count', 'art. 10(3)'),
    ('cumulative_borrower_count', 'participants', 'Cumulative number of borrowers', 'count', 'art. 10(3)'),
    ('period_lender_count', 'participants', 'Lenders in the period', 'count', 'art. 10(4)'),
    ('period_borrower_count', 'participants', 'Borrowers in the period', 'count', 'art. 10(4)'),
    ('related_party_outstanding_principal', 'related_party', 'Related-party loan balance', money, 'art. 10(6)'),
    ('related_party_loan_count', 'related_party', 'Related-party loans outstanding', 'count', 'art. 10(6)'),
    ('overdue_amount', 'overdue', 'Overdue amount', money, 'art. 10(7)'),
    ('overdue_loan_count', 'overdue', 'Overdue loans', 'count', 'art. 10(7)'),
    ('overdue_loan_principal', 'overdue', 'Principal of overdue loans', money, 'art. 10(7)'),
    ('overdue_90_plus_amount', 'overdue', 'Amount overdue more than 90 days', money, 'art. 10(8)'),
    ('overdue_90_plus_loan_count', 'overdue', 'Loans overdue more than 90 days', 'count', 'art. 10(8)'),
    ('overdue_90_plus_loan_principal', 'overdue', 'Principal of loans overdue more than 90 days', money, 'art. 10(8)'),
    ('written_off_principal', 'overdue', 'Principal written off', money, 'bad-debt rate numerator'),
    ('written_off_loan_count', 'overdue', 'Loans written off', 'count', 'bad-debt rate numerator'),
    ('recovered_amount', 'overdue', 'Recovered on written-off loans', money, 'cumulative loss rate, net'),
    ('written_off_principal_net', 'overdue', 'Principal written off, net of recoveries', money, 'cumulative loss rate, net'),
    ('compensated_amount', 'compensation', 'Cumulative compensated amount', money, 'art. 10(9)'),
    ('compensated_payment_count', 'compensation', 'Cumulative compensated payments', 'count', 'art. 10(9)'),
] -%}
with

periods as (
    {{ disclosure_periods() }}
),

positions as (
    select * from {{ ref('fct_loan_positions') }}
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
            then sum(cast(positions.principal_reporting as double) * positions.real_apr)
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

indicators as (
    {%- set n = namespace(order=0) %}
    {%- for id, group, label, unit, basis in amounts %}
    {%- set n.order = n.order + 10 %}
    select
        period_kind, period_id, period_start, period_end, is_period_closed,
        {{ n.order }} as sort_order,
        '{{ id }}' as indicator_id,
        '{{ group }}' as indicator_group,
        'total' as breakdown_key,
        '{{ label }}' as label,
        '{{ unit }}' as unit,
        cast({{ id }} as decimal(24, 8)) as value,
        cast({{ id }} as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        '{{ measures.get(id, label) }}' as numerator_definition,
        cast(null as varchar) as denominator_definition,
        '{{ measures.get(id, label) }} ({{ disclosure_basis(basis) }}){{ money_note if unit == money }}' as definition
    from measures
    union all
    {%- endfor %}
    {%- for id, label, basis, one_kind in rates %}
    {%- set spec = pack_value(id) if id not in rate_defaults or id in (var('pack', {}) or {}) else rate_defaults[id] %}
    {%- set terms = {'numerator': spec['numerator'] if spec['numerator'] is not string else [spec['numerator']], 'denominator': spec['denominator']} %}
    {%- for term in terms.numerator + [terms.denominator] %}
    {%- if term not in measures %}
    {{ exceptions.raise_compiler_error(id ~ ": unknown measure " ~ term ~ " (one of " ~ (measures.keys() | list | join(', ')) ~ ")") }}
    {%- endif %}
    {%- endfor %}
    {%- set kind = 'stock' if terms.denominator in stocks else 'flow' %}
    {%- if one_kind %}
    {%- for term in terms.numerator %}
    {%- if ('stock' if term in stocks else 'flow') != kind %}
    {{ exceptions.raise_compiler_error(id ~ " divides " ~ term ~ " (" ~ ('stock' if term in stocks else 'flow') ~ ") by " ~ terms.denominator ~ " (" ~ kind ~ "): keep a ratio's numerator and denominator of one kind, never a cumulative amount over a point-in-time balance (REGULATION.md); fix the pack parameter " ~ id) }}
    {%- endif %}
    {%- endfor %}
    {%- endif %}
    {%- set n.order = n.order + 10 %}
    select
        period_kind, period_id, period_start, period_end, is_period_closed,
        {{ n.order }} as sort_order,
        '{{ id }}' as indicator_id,
        'rates' as indicator_group,
        'total' as breakdown_key,
        '{{ label }}' as label,
        'rate' as unit,
        cast(case when {{ terms.denominator }} > 0
            then round(cast({{ terms.numerator | join(' + ') }} as double) / cast({{ terms.denominator }} as double), 8)
        end as decimal(24, 8)) as value,
        cast({{ terms.numerator | join(' + ') }} as decimal(24, 8)) as numerator_value,
        cast({{ terms.denominator }} as decimal(24, 8)) as denominator_value,
        '{{ terms.numerator | join(" + ") }}: {% for t in terms.numerator %}{{ measures[t] }}{{ " plus " if not loop.last }}{% endfor %}'
            as numerator_definition,
        '{{ terms.denominator }}: {{ measures[terms.denominator] }}' as denominator_definition,
        {%- if one_kind %}
        '{{ terms.numerator | join(" + ") }} / {{ terms.denominator }}: {% for t in terms.numerator %}{{ measures[t] }}{{ " plus " if not loop.last }}{% endfor %} over {{ measures[terms.denominator] }} ({{ kind_phrases[kind] }}; pack parameter {{ id }}; {{ disclosure_basis(basis) }})' as definition
        {%- else %}
        '{{ terms.numerator | join(" + ") }} / {{ terms.denominator }} (pack parameter {{ id }}; {{ disclosure_basis(basis) }})' as definition
        {%- endif %}
    from measures
    union all
    {%- endfor %}
    {%- for id, label, numerator, basis in [
        ('top10_borrower_share', 'Top-10 borrowers share of outstanding principal', 'top10_outstanding_principal', 'art. 10(5)'),
        ('largest_borrower_share', 'Largest single borrower share of outstanding principal', 'largest_outstanding_principal', 'art. 10(5)'),
    ] %}
    {%- set n.order = n.order + 10 %}
    select
        period_kind, period_id, period_start, period_end, is_period_closed,
        {{ n.order }} as sort_order,
        '{{ id }}' as indicator_id,
        'concentration' as indicator_group,
        'total' as breakdown_key,
        '{{ label }}' as label,
        'rate' as unit,
        cast(case when outstanding_principal > 0
            then round(cast({{ numerator }} as double) / cast(outstanding_principal as double), 8)
        end as decimal(24, 8)) as value,
        cast({{ numerator }} as decimal(24, 8)) as numerator_value,
        cast(outstanding_principal as decimal(24, 8)) as denominator_value,
        '{{ numerator }}: {{ measures[numerator] }}' as numerator_definition,
        'outstanding_principal: {{ measures["outstanding_principal"] }}' as denominator_definition,
        '{{ numerator }} / outstanding_principal ({{ disclosure_basis(basis) }})' as definition
    from measures
    union all
    {%- endfor %}
    {%- for id, label, numerator, denominator, definition in [
        ('real_apr_weighted_mean', 'Real APR, principal-weighted mean', 'apr_weighted_sum', 'apr_principal', 'sum(principal x real APR) / sum(principal) over the loans disbursed in the period'),
        ('real_apr_max', 'Real APR, highest', 'apr_max', 'null', 'highest real APR of the loans disbursed in the period'),
        ('real_apr_share_above_comprehensive_cap', 'Share of loans above the comprehensive-cost level', 'above_comprehensive_count', 'apr_loan_count', 'loans disbursed in the period whose real APR is above the comprehensive-cost level of their contract date / loans with a real APR'),
        ('real_apr_share_above_void_line', 'Share of loans above the 36% void line', 'above_void_line_count', 'apr_loan_count', 'loans disbursed in the period whose real APR is above the void line / loans with a real APR'),
        ('real_apr_share_above_court_cap', 'Share of loans above the court cap (private lending)', 'above_court_cap_count', 'apr_loan_count', 'loans disbursed in the period, funded by individual lenders, whose real APR is above the court cap of their contract date / loans with a real APR'),
    ] %}
    {%- set n.order = n.order + 10 %}
    select
        period_kind, period_id, period_start, period_end, is_period_closed,
        {{ n.order }} as sort_order,
        '{{ id }}' as indicator_id,
        'real_apr' as indicator_group,
        'total' as breakdown_key,
        '{{ label }}' as label,
        'rate' as unit,
        {%- if denominator == 'null' %}
        cast(round({{ numerator }}, 8) as decimal(24, 8)) as value,
        cast(round({{ numerator }}, 8) as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        {%- else %}
        cast(case when {{ denominator }} > 0
            then round(cast({{ numerator }} as double) / cast({{ denominator }} as double), 8)
        end as decimal(24, 8)) as value,
        cast(round({{ numerator }}, 8) as decimal(24, 8)) as numerator_value,
        cast({{ denominator }} as decimal(24, 8)) as denominator_value,
        {%- endif %}
        '{{ numerator }}' as numerator_definition,
        {{ "null" if denominator == 'null' else "'" ~ denominator ~ "'" }} as denominator_definition,
        '{{ definition }} (real APR in the pack convention ' || '{{ var("apr_convention", "cn_irr") }}' || '; {{ disclosure_basis("PBOC Announcement [2021] No. 3") }})' as definition
    from measures
    union all
    {%- endfor %}
    {%- set n.order = n.order + 10 %}
    -- Aging of the outstanding principal by days past due (buckets from the pack).
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ n.order }} as sort_order,
        'outstanding_principal_by_aging' as indicator_id,
        'aging' as indicator_group,
        buckets.aging_bucket as breakdown_key,
        'Outstanding principal, ' || buckets.aging_bucket || case when buckets.aging_bucket = 'current' then '' else ' days past due' end as label,
        '{{ money }}' as unit,
        cast(case when by_bucket.aging_bucket is null then 0 else by_bucket.outstanding_principal end as decimal(24, 8)) as value,
        cast(case when by_bucket.aging_bucket is null then 0 else by_bucket.outstanding_principal end as decimal(24, 8))
            as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        'outstanding principal of active loans in the bucket' as numerator_definition,
        cast(null as varchar) as denominator_definition,
        'outstanding principal by days past due of the oldest unpaid installment (pack parameter overdue_bucket_upper_days){{ money_note }}' as definition
    from periods
    cross join (
        {%- for label in aging_bucket_labels() %}
        select '{{ label }}' as aging_bucket, {{ loop.index }} as bucket_order{{ " union all" if not loop.last }}
        {%- endfor %}
    ) as buckets
    left join (
        select aging_bucket, {{ sum_converted('outstanding_principal_reporting') }} as outstanding_principal, count(*) as loan_count
        from positions where is_outstanding group by aging_bucket
    ) as by_bucket on buckets.aging_bucket = by_bucket.aging_bucket
    union all
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ n.order + 1 }} as sort_order,
        'outstanding_loans_by_aging' as indicator_id,
        'aging' as indicator_group,
        buckets.aging_bucket as breakdown_key,
        'Outstanding loans, ' || buckets.aging_bucket || case when buckets.aging_bucket = 'current' then '' else ' days past due' end as label,
        'count' as unit,
        cast(coalesce(by_bucket.loan_count, 0) as decimal(24, 8)) as value,
        cast(coalesce(by_bucket.loan_count, 0) as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        'active loans with principal unpaid in the bucket' as numerator_definition,
        cast(null as varchar) as denominator_definition,
        'outstanding loans by days past due of the oldest unpaid installment (pack parameter overdue_bucket_upper_days)' as definition
    from periods
    cross join (
        {%- for label in aging_bucket_labels() %}
        select '{{ label }}' as aging_bucket{{ " union all" if not loop.last }}
        {%- endfor %}
    ) as buckets
    left join (
        select aging_bucket, count(*) as loan_count
        from positions where is_outstanding group by aging_bucket
    ) as by_bucket on buckets.aging_bucket = by_bucket.aging_bucket
    union all
    -- Compensation by who paid.
    {%- set n.order = n.order + 10 %}
    {%- for id, column, unit in [('compensated_amount_by_payer', 'compensated_amount', money), ('compensated_payments_by_payer', 'compensated_payment_count', 'count')] %}
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ n.order + loop.index0 }} as sort_order,
        '{{ id }}' as indicator_id,
        'compensation' as indicator_group,
        payers.payer_type as breakdown_key,
        '{{ "Compensated amount" if unit == money else "Compensated payments" }}, paid by the ' || payers.payer_type as label,
        '{{ unit }}' as unit,
        cast(case when by_payer.payer_type is null then 0 else by_payer.value end as decimal(24, 8)) as value,
        cast(case when by_payer.payer_type is null then 0 else by_payer.value end as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        '{{ measures[column] }}, by payer type' as numerator_definition,
        cast(null as varchar) as denominator_definition,
        '{{ measures[column] }}, by payer type ({{ disclosure_basis("art. 10(9)") }}){{ money_note if unit == money }}' as definition
    from periods
    cross join (select 'guarantor' as payer_type union all select 'platform' as payer_type) as payers
    left join (
        select payer_type, {{ sum_converted(column ~ '_reporting') if unit == money else 'sum(' ~ column ~ ')' }} as value
        from {{ ref('int_compensations_summarised') }} group by payer_type
    ) as by_payer on payers.payer_type = by_payer.payer_type
    union all
    {%- endfor %}
    -- The distribution of the real APR of the period's loans (2-point bins; the last is open)
    -- and the caps in force on their contract dates (the highest of each line), for the chart.
    {%- set n.order = n.order + 10 %}
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ n.order }} as sort_order,
        'real_apr_distribution' as indicator_id,
        'real_apr' as indicator_group,
        bins.bin_key as breakdown_key,
        'Loans with a real APR ' || bins.bin_label as label,
        'count' as unit,
        cast(count(positions.loan_id) as decimal(24, 8)) as value,
        cast(count(positions.loan_id) as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        'loans disbursed in the period with a real APR in the bin' as numerator_definition,
        cast(null as varchar) as denominator_definition,
        'loans disbursed in the period by real APR, bins of 2 percentage points, lower bound included (within 1e-9: an APR on an edge is not split by float noise)' as definition
    from periods
    cross join (
        {%- for k in range(20) %}
        select '{{ "%02d" % (2 * k) }}' as bin_key, 'from {{ 2 * k }}% to under {{ 2 * k + 2 }}%' as bin_label,
            {{ k }} as bin_number{{ " union all" if not loop.last }}
        {%- endfor %}
        union all select '40+' as bin_key, 'of 40% or more' as bin_label, 20 as bin_number
    ) as bins
    left join positions
        on positions.disbursement_date >= periods.period_start
        and positions.disbursement_date <= periods.period_end
        and positions.real_apr is not null
        and least(greatest(cast(floor(positions.real_apr * 50 + 1e-9) as integer), 0), 20) = bins.bin_number
    group by periods.period_kind, periods.period_id, periods.period_start, periods.period_end,
        periods.is_period_closed, bins.bin_key, bins.bin_label
    union all
    {%- for cap, label in [('comprehensive_cap_rate', 'Comprehensive-cost level'), ('void_line_rate', 'Void line'), ('court_cap_rate', 'Court cap (private lending)')] %}
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ n.order + loop.index }} as sort_order,
        'rate_cap_in_force' as indicator_id,
        'real_apr' as indicator_group,
        '{{ cap }}' as breakdown_key,
        '{{ label }} in force (highest over the period''s contract dates)' as label,
        'rate' as unit,
        cast(max(positions.{{ cap }}) as decimal(24, 8)) as value,
        cast(max(positions.{{ cap }}) as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        'highest {{ cap }} of the loans disbursed in the period' as numerator_definition,
        cast(null as varchar) as denominator_definition,
        'cap on their contract dates (seeds rate_cap_policies and lpr_one_year_rates)' as definition
    from periods
    left join positions
        on positions.disbursement_date >= periods.period_start
        and positions.disbursement_date <= periods.period_end
    group by periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed
    union all
    {%- endfor %}
    -- The partner list: every partner institution in force at the period end, with its book.
    {%- set n.order = n.order + 10 %}
    {%- for id, expression, unit, what in [('partner_outstanding_principal', sum_converted('outstanding_principal_reporting'), money, 'outstanding principal'), ('partner_outstanding_loan_count', 'sum(case when is_outstanding then 1 else 0 end)', 'count', 'outstanding loans')] %}
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ n.order + loop.index0 }} as sort_order,
        '{{ id }}' as indicator_id,
        'partners' as indicator_group,
        partners.partner_id as breakdown_key,
        partners.partner_name || ' (' || partners.partner_role || '; ' || partners.licence || ')' as label,
        '{{ unit }}' as unit,
        cast(case when by_partner.partner_id is null then 0 else by_partner.value end as decimal(24, 8)) as value,
        cast(case when by_partner.partner_id is null then 0 else by_partner.value end as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        '{{ what }} of the loans arranged with the partner' as numerator_definition,
        cast(null as varchar) as denominator_definition,
        'partner institution in force at the period end (seed partner_institutions) and the {{ what }} of its loans{{ money_note if unit == money }}' as definition
    from periods
    inner join {{ ref('stg_reference__partner_institutions') }} as partners
        on partners.valid_from <= periods.period_end
        and (partners.valid_to is null or partners.valid_to > periods.period_end)
    left join (
        select partner_id, {{ expression }} as value from positions group by partner_id
    ) as by_partner on partners.partner_id = by_partner.partner_id
    union all
    {%- endfor %}
    -- The fee schedule in force at the period end (art. 10(10)).
    {%- set n.order = n.order + 10 %}
    {%- for id, column, what in [('fee_rate_min', 'rate_min', 'lowest'), ('fee_rate_max', 'rate_max', 'highest')] %}
    select
        periods.period_kind, periods.period_id, periods.period_start, periods.period_end, periods.is_period_closed,
        {{ n.order + loop.index0 }} as sort_order,
        '{{ id }}' as indicator_id,
        'fees' as indicator_group,
        fees.product_code || ':' || fees.fee_name as breakdown_key,
        fees.product_code || ' ' || replace(fees.fee_name, '_', ' ') || ' ({{ what }})' as label,
        'rate' as unit,
        cast(fees.{{ column }} as decimal(24, 8)) as value,
        cast(fees.{{ column }} as decimal(24, 8)) as numerator_value,
        cast(null as decimal(24, 8)) as denominator_value,
        fees.charge_basis as numerator_definition,
        cast(null as varchar) as denominator_definition,
        '{{ what }} rate charged: ' || fees.charge_basis || ' (seed product_fee_schedules; {{ disclosure_basis("art. 10(10)") }})' as definition
    from periods
    inner join {{ ref('stg_reference__product_fee_schedules') }} as fees
        on fees.valid_from <= periods.period_end
        and (fees.valid_to is null or fees.valid_to > periods.period_end)
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(period_kind as varchar) as period_kind,
        cast(period_id as varchar) as period_id,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(is_period_closed as boolean) as is_period_closed,
        cast(sort_order as integer) as sort_order,
        cast(indicator_id as varchar) as indicator_id,
        cast(indicator_group as varchar) as indicator_group,
        cast(breakdown_key as varchar) as breakdown_key,
        cast(label as varchar) as label,
        cast(unit as varchar) as unit,
        value,
        numerator_value,
        denominator_value,
        cast(definition as varchar) as definition,
        cast(numerator_definition as varchar) as numerator_definition,
        cast(denominator_definition as varchar) as denominator_definition
    from indicators
)

select * from final
