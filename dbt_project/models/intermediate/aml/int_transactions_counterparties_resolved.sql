{#-
    Every transaction delivered up to D with its customer and CNY amount (from
    int_transactions_converted) and its counterparty: account, name, country, and, when
    the counterparty account is an account of this platform, that account's customer.
    counterparty_key identifies a counterparty for distinct counts (account, else name);
    null for cash, which has none.
-#}
with

transactions as (
    select * from {{ ref('int_transactions_converted') }}
),

details as (
    select
        transaction_id,
        nullif(trim(counterparty_account), '') as counterparty_account,
        nullif(trim(counterparty_name), '') as counterparty_name,
        upper(nullif(trim(counterparty_country), '')) as counterparty_country,
        purpose
    from {{ ref('stg_platform__transactions') }}
),

platform_accounts as (
    select account_id, customer_id from {{ ref('stg_platform__accounts') }}
),

final as (
    select
        transactions.transaction_id,
        transactions.account_id,
        transactions.customer_id,
        transactions.customer_type,
        transactions.transaction_at,
        transactions.transaction_date,
        transactions.direction,
        transactions.channel,
        transactions.amount,
        transactions.currency,
        transactions.amount_cny,
        transactions.has_missing_fx_rate,
        transactions.loaded_business_date,
        details.counterparty_account,
        details.counterparty_name,
        details.counterparty_country,
        details.purpose,
        coalesce(details.counterparty_account, details.counterparty_name) as counterparty_key,
        platform_accounts.customer_id as counterparty_customer_id
    from transactions
    inner join details on transactions.transaction_id = details.transaction_id
    left join platform_accounts on details.counterparty_account = platform_accounts.account_id
)

select * from final
