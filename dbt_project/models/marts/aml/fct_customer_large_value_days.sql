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
-#}
with

transactions as (
    select * from {{ ref('int_transactions_converted') }}
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

touched as (
    select distinct customer_id, transaction_date, large_value_category, direction
    from transactions
    where loaded_business_date = {{ business_date() }}
),

customer_days as (
    select
        transactions.customer_id,
        max(transactions.customer_type) as customer_type,
        transactions.transaction_date,
        transactions.large_value_category,
        transactions.direction,
        cast(count(*) as integer) as transaction_count,
        cast(sum(case when transactions.is_foreign_currency then 0 else 1 end) as integer)
            as cny_transaction_count,
        cast(coalesce(sum(case when not transactions.is_foreign_currency then transactions.amount end), 0)
            as decimal(18, 2)) as cny_amount,
        cast(sum(case when transactions.is_foreign_currency then 1 else 0 end) as integer)
            as foreign_transaction_count,
        cast(coalesce(sum(case when transactions.is_foreign_currency then transactions.amount_usd end), 0)
            as decimal(18, 2)) as foreign_amount_usd,
        cast(case when count(*) = count(transactions.amount_cny) then sum(transactions.amount_cny) end
            as decimal(18, 2)) as amount_cny,
        cast(max(transactions.amount_cny) as decimal(18, 2)) as largest_amount_cny,
        {{ dbt.listagg('transactions.transaction_id', "','", 'order by transactions.transaction_id') }}
            as transaction_ids,
        {{ dbt.listagg('distinct transactions.currency', "','", 'order by transactions.currency') }}
            as currencies,
        {{ dbt.bool_or(
            'transactions.amount_cny is null or (transactions.is_foreign_currency and transactions.amount_usd is null)'
        ) }} as has_missing_fx_rate,
        {{ dbt.listagg(
            "case when transactions.amount_cny is null"
            ~ " or (transactions.is_foreign_currency and transactions.amount_usd is null)"
            ~ " then transactions.transaction_id end",
            "','",
            'order by transactions.transaction_id'
        ) }} as unconverted_transaction_ids
    from transactions
    inner join touched
        on {{ large_value_line_join('transactions', 'touched') }}
    group by
        transactions.customer_id,
        transactions.transaction_date,
        transactions.large_value_category,
        transactions.direction
),

assessed as (
    select
        customer_days.*,
        cast(lines.cny_threshold as decimal(18, 2)) as cny_threshold,
        cast(lines.usd_threshold as decimal(18, 2)) as usd_threshold,
        coalesce(customer_days.cny_amount >= cast(lines.cny_threshold as decimal(18, 2)), false)
            as reaches_cny_line,
        coalesce(customer_days.foreign_amount_usd >= cast(lines.usd_threshold as decimal(18, 2)), false)
            as reaches_usd_line
    from customer_days
    inner join lines on customer_days.large_value_category = lines.large_value_category
),

deadlines as (
    select
        assessed.customer_id,
        assessed.transaction_date,
        assessed.large_value_category,
        assessed.direction,
        due.calendar_date as report_deadline
    from assessed
    inner join calendar as started on assessed.transaction_date = started.calendar_date
    inner join calendar as due
        on due.is_working_day
        and due.working_days_to_date = started.working_days_to_date
            + {{ pack_param('large_value_report_working_days', default='null') }}
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
    left join deadlines
        on {{ large_value_line_join('assessed', 'deadlines') }}
)

select * from final
