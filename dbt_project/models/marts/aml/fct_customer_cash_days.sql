{#-
    One row per customer, transaction date and direction of cash transactions, for the
    customer-days that received a transaction in the load of the business date. Totals
    count every transaction of that customer-day delivered so far, so a late-arriving
    transaction re-opens its day. Cumulated per direction: deposits and withdrawals
    are separate large-value counts (PBOC Order [2016] No. 3 art. 5). cash_amount_usd is the
    USD equivalent of every leg (the us pack's currency transaction report, 31 CFR 1010.311
    and 1010.313: cash in and cash out aggregated separately); a leg without a rate leaves
    it a lower bound and sets has_missing_usd_rate.
-#}
with

cash as (
    select
        customer_id,
        customer_type,
        transaction_id,
        transaction_date,
        direction,
        currency,
        amount_cny,
        amount_usd,
        has_missing_fx_rate,
        has_missing_usd_rate,
        loaded_business_date
    from {{ ref('int_transactions_converted') }}
    where channel = 'cash'
),

grouped as (
    -- one pass of plain aggregates over the customer-days with a leg loaded on D; a
    -- one-transaction day's id and currency are its own (issue 17: most days have one)
    select
        customer_id,
        max(customer_type) as customer_type,
        transaction_date,
        direction,
        cast(count(*) as integer) as transaction_count,
        cast(sum(amount_cny) as decimal(18, 2)) as cash_amount_cny,
        cast(max(amount_cny) as decimal(18, 2)) as largest_amount_cny,
        min(transaction_id) as first_transaction_id,
        min(currency) as first_currency,
        {{ dbt.bool_or('has_missing_fx_rate') }} as has_missing_fx_rate,
        cast(sum(amount_usd) as decimal(18, 2)) as cash_amount_usd,
        {{ dbt.bool_or('has_missing_usd_rate') }} as has_missing_usd_rate
    from cash
    group by customer_id, transaction_date, direction
    having {{ dbt.bool_or('loaded_business_date = ' ~ business_date()) }}
),

listed as (
    -- the evidence lists of the customer-days of more than one transaction only
    select
        cash.customer_id,
        cash.transaction_date,
        cash.direction,
        {{ dbt.listagg('cash.transaction_id', "','", 'order by cash.transaction_id') }} as transaction_ids,
        {{ dbt.listagg('distinct cash.currency', "','", 'order by cash.currency') }} as currencies
    from cash
    inner join grouped
        on cash.customer_id = grouped.customer_id
        and cash.transaction_date = grouped.transaction_date
        and cash.direction = grouped.direction
    where grouped.transaction_count > 1
    group by cash.customer_id, cash.transaction_date, cash.direction
),

customer_days as (
    select
        grouped.customer_id,
        grouped.customer_type,
        grouped.transaction_date,
        grouped.direction,
        grouped.transaction_count,
        grouped.cash_amount_cny,
        grouped.largest_amount_cny,
        case when grouped.transaction_count = 1 then grouped.first_transaction_id
            else listed.transaction_ids end as transaction_ids,
        case when grouped.transaction_count = 1 then grouped.first_currency
            else listed.currencies end as currencies,
        grouped.has_missing_fx_rate,
        grouped.cash_amount_usd,
        grouped.has_missing_usd_rate
    from grouped
    left join listed
        on grouped.transaction_count > 1
        and grouped.customer_id = listed.customer_id
        and grouped.transaction_date = listed.transaction_date
        and grouped.direction = listed.direction
),

final as (
    select
        {{ business_date() }} as business_date,
        customer_id || '|' || cast(transaction_date as {{ dbt.type_string() }}) || '|' || direction as entity_key,
        customer_id,
        customer_type,
        transaction_date,
        direction,
        transaction_count,
        cash_amount_cny,
        largest_amount_cny,
        transaction_ids,
        currencies,
        has_missing_fx_rate,
        cash_amount_usd,
        has_missing_usd_rate
    from customer_days
)

select * from final
