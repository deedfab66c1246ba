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
    -- the counterparty as delivered, trimmed, from the converted row itself (it carries the
    -- transaction's columns): one projection, no join of the rows back to themselves by id
    select
        *,
        nullif(trim(counterparty_account), '') as trimmed_counterparty_account,
        nullif(trim(counterparty_name), '') as trimmed_counterparty_name,
        upper(nullif(trim(counterparty_country), '')) as trimmed_counterparty_country
    from transactions
),

platform_accounts as (
    select account_id, customer_id from {{ ref('stg_platform__accounts') }}
),

final as (
    select
        details.transaction_id,
        details.account_id,
        details.customer_id,
        details.customer_type,
        details.transaction_at,
        details.transaction_date,
        details.direction,
        details.channel,
        details.amount,
        details.currency,
        details.amount_cny,
        details.has_missing_fx_rate,
        details.loaded_business_date,
        details.trimmed_counterparty_account as counterparty_account,
        details.trimmed_counterparty_name as counterparty_name,
        details.trimmed_counterparty_country as counterparty_country,
        details.purpose,
        coalesce(details.trimmed_counterparty_account, details.trimmed_counterparty_name) as counterparty_key,
        platform_accounts.customer_id as counterparty_customer_id
    from details
    left join platform_accounts on details.trimmed_counterparty_account = platform_accounts.account_id
)

select * from final
