{#-
    One row per transaction delivered in the load of D that names a counterparty country,
    with the FATF lists that country was on at the transaction date (effective-dated seed
    high_risk_jurisdictions: valid_from <= date < valid_to). listed_on is null for a
    country on no list; the rule flags the others (high-risk jurisdictions, PBOC).
-#}
with

transactions as (
    select * from {{ ref('int_transactions_counterparties_resolved') }}
    where loaded_business_date = {{ business_date() }}
        and counterparty_country is not null
),

listings as (
    select * from {{ ref('stg_reference__high_risk_jurisdictions') }}
),

listed as (
    -- the lists depend on the country and the date alone: once per (country, date) that has a
    -- listing, not once per transaction
    select
        listings.jurisdiction_code as counterparty_country,
        dates.transaction_date,
        {{ dbt.listagg('listings.list_name', "','", 'order by listings.list_name') }} as listed_on,
        {{ dbt.listagg('listings.listing_source', "' | '", 'order by listings.list_name') }} as listing_sources
    from listings
    inner join (
        select distinct counterparty_country, transaction_date
        from {{ ref('int_transactions_counterparties_resolved') }}
        where loaded_business_date = {{ business_date() }}
            and counterparty_country is not null
    ) as dates
        on dates.counterparty_country = listings.jurisdiction_code
        and dates.transaction_date >= listings.valid_from
        and (listings.valid_to is null or dates.transaction_date < listings.valid_to)
    group by listings.jurisdiction_code, dates.transaction_date
),

final as (
    select
        {{ business_date() }} as business_date,
        transactions.customer_id || '|' || transactions.transaction_id as entity_key,
        transactions.customer_id,
        transactions.customer_type,
        transactions.account_id,
        transactions.transaction_id,
        transactions.transaction_at,
        transactions.transaction_date,
        transactions.direction,
        transactions.channel,
        transactions.amount,
        transactions.currency,
        cast(transactions.amount_cny as decimal(18, 2)) as amount_cny,
        transactions.counterparty_name,
        transactions.counterparty_account,
        transactions.counterparty_country,
        listed.listed_on,
        listed.listing_sources
    from transactions
    left join listed
        on transactions.counterparty_country = listed.counterparty_country
        and transactions.transaction_date = listed.transaction_date
)

select * from final
