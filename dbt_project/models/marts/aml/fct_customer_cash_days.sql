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
    select * from {{ ref('int_transactions_converted') }}
    where channel = 'cash'
),

touched as (
    select distinct customer_id, transaction_date, direction
    from cash
    where loaded_business_date = {{ business_date() }}
),

customer_days as (
    select
        cash.customer_id,
        max(cash.customer_type) as customer_type,
        cash.transaction_date,
        cash.direction,
        cast(count(*) as integer) as transaction_count,
        cast(sum(cash.amount_cny) as decimal(18, 2)) as cash_amount_cny,
        cast(max(cash.amount_cny) as decimal(18, 2)) as largest_amount_cny,
        {{ dbt.listagg('cash.transaction_id', "','", 'order by cash.transaction_id') }} as transaction_ids,
        {{ dbt.listagg('distinct cash.currency', "','", 'order by cash.currency') }} as currencies,
        {{ dbt.bool_or('cash.has_missing_fx_rate') }} as has_missing_fx_rate,
        cast(sum(cash.amount_usd) as decimal(18, 2)) as cash_amount_usd,
        {{ dbt.bool_or('cash.has_missing_usd_rate') }} as has_missing_usd_rate
    from cash
    inner join touched
        on cash.customer_id = touched.customer_id
        and cash.transaction_date = touched.transaction_date
        and cash.direction = touched.direction
    group by cash.customer_id, cash.transaction_date, cash.direction
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
