{#-
    One row per customer, transaction date, PBOC large-value category and direction, for the
    customer-days touched by the load of the business date (a late transaction re-opens its
    day), with whether it reaches its art. 5 line and the report deadline.

    Reading of art. 5 (stated in checks/README.md and each rule's legal_basis): totals are
    per customer (all accounts), per day and one-sided (receipts and payments separately,
    never netted: art. 5, last paragraph). CNY legs are cumulated against the CNY line;
    foreign-currency legs are converted to their USD equivalent (CNY cross rate of the day)
    and cumulated against the USD line; the two are never added together. Either line
    reached (>=, inclusive) makes the customer-day reportable. A foreign leg without a rate
    is left out of the USD total, which is then a lower bound, never a zero. A leg without
    its CNY amount (a USD leg on a day without the USD rate) or, in a foreign currency,
    without its USD equivalent is unconverted: the customer-day says so
    (has_missing_fx_rate, unconverted_transaction_ids, fx_gap_note in the large-value
    rules' messages), its amount_cny is null (unknown, not a partial sum), and the missing
    rate itself is one exception per currency and date (cn.aml.missing_fx_rate on
    fct_fx_rates_used, naming the currency that has no rate).

    Deadline: the large_value_report_working_days-th working day after the transaction
    date on the Chinese working-day calendar (the transaction date itself is day 0,
    whether or not it is a working day; Civil Code art. 201); null when the calendar does
    not cover the dates.

    Lines and the deadline come from the rule pack (pack_param); a pack without them (us)
    builds the model with null lines: nothing is reportable there.

    Cost (issue 17): the evidence lists (transaction ids, currencies, unconverted ids) are
    built by an ordered string aggregate only for the customer-days of more than one
    transaction (5 % of them at platform scale); a customer-day of one transaction has its
    one id and currency as they are, taken by min() in the one pass of plain aggregates. The
    touched customer-days are those with a leg loaded on D (a HAVING, no join back), and the
    deadline is computed once per transaction date, not per customer-day.
-#}
with

transactions as (
    select
        *,
        (amount_cny is null or (is_foreign_currency and amount_usd is null)) as is_unconverted
    from {{ ref('int_transactions_converted') }}
    where large_value_category is not null
),

calendar as (
    select * from {{ ref('int_working_days_counted') }}
),

lines as (
    select
        'cash' as large_value_category,
        {{ pack_param('large_cash_threshold_cny', default='null') }} as cny_threshold,
        {{ pack_param('large_cash_threshold_usd', default='null') }} as usd_threshold
    union all
    select
        'entity_transfer',
        {{ pack_param('large_entity_transfer_threshold_cny', default='null') }},
        {{ pack_param('large_entity_transfer_threshold_usd', default='null') }}
    union all
    select
        'individual_domestic_transfer',
        {{ pack_param('large_individual_domestic_transfer_threshold_cny', default='null') }},
        {{ pack_param('large_individual_domestic_transfer_threshold_usd', default='null') }}
    union all
    select
        'individual_cross_border_transfer',
        {{ pack_param('large_individual_cross_border_transfer_threshold_cny', default='null') }},
        {{ pack_param('large_individual_cross_border_transfer_threshold_usd', default='null') }}
),

customer_days as (
    -- one pass of plain aggregates over every customer-day touched by the load of D (a
    -- customer-day with a leg loaded on D); a one-transaction day's evidence is its own row
    select
        customer_id,
        max(customer_type) as customer_type,
        transaction_date,
        large_value_category,
        direction,
        cast(count(*) as integer) as transaction_count,
        cast(sum(case when is_foreign_currency then 0 else 1 end) as integer) as cny_transaction_count,
        cast(coalesce(sum(case when not is_foreign_currency then amount end), 0) as decimal(18, 2)) as cny_amount,
        cast(sum(case when is_foreign_currency then 1 else 0 end) as integer) as foreign_transaction_count,
        cast(coalesce(sum(case when is_foreign_currency then amount_usd end), 0) as decimal(18, 2))
            as foreign_amount_usd,
        cast(case when count(*) = count(amount_cny) then sum(amount_cny) end as decimal(18, 2)) as amount_cny,
        cast(max(amount_cny) as decimal(18, 2)) as largest_amount_cny,
        min(transaction_id) as first_transaction_id,
        min(currency) as first_currency,
        {{ dbt.bool_or('is_unconverted') }} as has_missing_fx_rate
    from transactions
    group by customer_id, transaction_date, large_value_category, direction
    having {{ dbt.bool_or('loaded_business_date = ' ~ business_date()) }}
),

listed as (
    -- the evidence lists of the customer-days of more than one transaction only
    select
        transactions.customer_id,
        transactions.transaction_date,
        transactions.large_value_category,
        transactions.direction,
        {{ dbt.listagg('transactions.transaction_id', "','", 'order by transactions.transaction_id') }}
            as transaction_ids,
        {{ dbt.listagg('distinct transactions.currency', "','", 'order by transactions.currency') }}
            as currencies,
        {{ dbt.listagg(
            "case when transactions.is_unconverted then transactions.transaction_id end",
            "','",
            'order by case when transactions.is_unconverted then transactions.transaction_id end'
        ) }} as unconverted_transaction_ids
    from transactions
    inner join customer_days
        on {{ large_value_line_join('transactions', 'customer_days') }}
    where customer_days.transaction_count > 1
    group by
        transactions.customer_id,
        transactions.transaction_date,
        transactions.large_value_category,
        transactions.direction
),

deadlines as (
    -- the deadline depends on the transaction date alone: once per date
    select
        started.calendar_date as transaction_date,
        due.calendar_date as report_deadline
    from calendar as started
    inner join calendar as due
        on due.is_working_day
        and due.working_days_to_date = started.working_days_to_date
            + {{ pack_param('large_value_report_working_days', default='null') }}
    where started.calendar_date in (select distinct transaction_date from customer_days)
),

assessed as (
    select
        customer_days.customer_id,
        customer_days.customer_type,
        customer_days.transaction_date,
        customer_days.large_value_category,
        customer_days.direction,
        customer_days.transaction_count,
        customer_days.cny_transaction_count,
        customer_days.cny_amount,
        customer_days.foreign_transaction_count,
        customer_days.foreign_amount_usd,
        customer_days.amount_cny,
        customer_days.largest_amount_cny,
        customer_days.has_missing_fx_rate,
        case when customer_days.transaction_count = 1 then customer_days.first_transaction_id
            else listed.transaction_ids end as transaction_ids,
        case when customer_days.transaction_count = 1 then customer_days.first_currency
            else listed.currencies end as currencies,
        case
            when customer_days.transaction_count > 1 then listed.unconverted_transaction_ids
            when customer_days.has_missing_fx_rate then customer_days.first_transaction_id
        end as unconverted_transaction_ids,
        cast(lines.cny_threshold as decimal(18, 2)) as cny_threshold,
        cast(lines.usd_threshold as decimal(18, 2)) as usd_threshold,
        coalesce(customer_days.cny_amount >= cast(lines.cny_threshold as decimal(18, 2)), false)
            as reaches_cny_line,
        coalesce(customer_days.foreign_amount_usd >= cast(lines.usd_threshold as decimal(18, 2)), false)
            as reaches_usd_line
    from customer_days
    inner join lines on customer_days.large_value_category = lines.large_value_category
    left join listed
        on customer_days.transaction_count > 1
        and {{ large_value_line_join('customer_days', 'listed') }}
),

final as (
    select
        {{ business_date() }} as business_date,
        assessed.customer_id || '|' || cast(assessed.transaction_date as {{ dbt.type_string() }}) || '|'
            || assessed.large_value_category || '|' || assessed.direction as entity_key,
        assessed.customer_id,
        assessed.customer_type,
        assessed.transaction_date,
        assessed.large_value_category,
        assessed.direction,
        assessed.transaction_count,
        assessed.cny_transaction_count,
        assessed.cny_amount,
        assessed.cny_threshold,
        assessed.foreign_transaction_count,
        assessed.foreign_amount_usd,
        assessed.usd_threshold,
        assessed.amount_cny,
        assessed.largest_amount_cny,
        (assessed.reaches_cny_line or assessed.reaches_usd_line) as is_reportable,
        case
            when assessed.reaches_cny_line and assessed.reaches_usd_line then 'CNY and USD'
            when assessed.reaches_cny_line then 'CNY'
            when assessed.reaches_usd_line then 'USD'
        end as reportable_line,
        case
            when assessed.reaches_cny_line or assessed.reaches_usd_line then assessed.large_value_category
        end as reportable_category,
        deadlines.report_deadline,
        assessed.transaction_ids,
        assessed.currencies,
        assessed.has_missing_fx_rate,
        assessed.unconverted_transaction_ids,
        cast(
            case when assessed.has_missing_fx_rate
                then '; totals are a lower bound, legs not converted (no FX rate): '
                    || assessed.unconverted_transaction_ids
                else ''
            end as {{ dbt.type_string() }}
        ) as fx_gap_note
    from assessed
    left join deadlines on assessed.transaction_date = deadlines.transaction_date
)

select * from final
