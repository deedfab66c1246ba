{{ config(materialized='incremental', unique_key='transaction_id', incremental_strategy=by_key_strategy(), on_schema_change='fail') }}
{#-
    Every transaction delivered up to D with its customer and CNY amount (from
    int_transactions_converted) and its counterparty: account, name, country, and, when
    the counterparty account is an account of this platform, that account's customer.
    counterparty_key identifies a counterparty for distinct counts (account, else name);
    null for cash, which has none.

    Incremental (issue 17), like int_transactions_converted: only the transactions whose
    inputs changed since the last build, or whose counterparty account's latest version did.
-#}
-- depends_on: {{ ref('stg_platform__fx_rates') }}
with

transactions as (
    select * from {{ ref('int_transactions_converted') }}
    {%- if is_incremental() %}
    where {{ transaction_inputs_changed('transaction_date', 'counterparty_account') }}
    {%- endif %}
),

details as (
    -- the counterparty as delivered, from the converted row itself (it carries the
    -- transaction's columns): no second read of every staged transaction joined back by id
    select
        transaction_id,
        nullif(trim(counterparty_account), '') as counterparty_account,
        nullif(trim(counterparty_name), '') as counterparty_name,
        upper(nullif(trim(counterparty_country), '')) as counterparty_country,
        purpose
    from transactions
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
