{{ config(materialized='incremental', unique_key='transaction_id', incremental_strategy=by_key_strategy(), on_schema_change='fail') }}
{#-
    Every transaction with its customer (through the account's latest version), its amount
    in CNY at the FX rate of the transaction date, its USD equivalent through the CNY cross
    rate of that day, and its PBOC large-value category.

    CNY is 1 by definition and a USD amount is its own USD equivalent; any other leg is
    amount x cny_per_unit(currency) / cny_per_unit(USD) of the transaction date, rounded
    to the cent per row (the engine may divide in floating point; the rounded quotient is
    cast back to DECIMAL, so every sum downstream is exact and order-independent). The
    amount is widened before it is multiplied (money_at_rate): a DECIMAL(18, 2) x
    DECIMAL(18, 8) product overflows DuckDB from CNY 100 M on. A rate that is missing (or zero) leaves the converted amount null and raises a flag
    (has_missing_fx_rate: no CNY rate for the currency; has_missing_usd_rate: no USD
    equivalent) - never a silent zero: the rules cn.aml.missing_fx_rate and
    us.aml.missing_fx_rate turn the flags into exceptions.

    large_value_category (PBOC Order [2016] No. 3 art. 5): cash (channel cash); account
    transfers (channels transfer and cross_border) of an entity customer; of a natural
    person, domestic or cross-border (channel cross_border, or a counterparty outside CN).
    A customer whose account is unknown counts as a natural person (the lower lines).
    Card payments and internal movements are no account-to-account transfer here: null.

    Incremental (issue 17): a day's build converts again only the transactions whose inputs
    changed since the last build (transaction_inputs_changed: delivered since, their
    account's latest version or their date's FX rates changed) and replaces those rows;
    the others are as a build from scratch would make them.
-#}
with

transactions as (
    select * from {{ ref('stg_platform__transactions') }}
    {%- if is_incremental() %}
    where {{ transaction_inputs_changed('cast(transaction_at as date)') }}
    {%- endif %}
),

accounts as (
    select * from {{ ref('stg_platform__accounts') }}
),

fx_rates as (
    select * from {{ ref('stg_platform__fx_rates') }}
),

dated as (
    select
        *,
        cast(transaction_at as date) as transaction_date
    from transactions
),

rated as (
    select
        dated.*,
        accounts.customer_id as account_customer_id,
        accounts.customer_type,
        {{ cny_per_unit('dated.currency', 'own_rate') }} as cny_per_unit,
        nullif(usd_rate.cny_per_unit, 0) as usd_cny_per_unit,
        (
            dated.channel = 'cross_border'
            or coalesce(dated.counterparty_country, 'CN') not in ('CN', '')
        ) as is_cross_border
    from dated
    left join accounts on dated.account_id = accounts.account_id
    left join fx_rates as own_rate
        on dated.transaction_date = own_rate.rate_date
        and dated.currency = own_rate.currency
    left join fx_rates as usd_rate
        on dated.transaction_date = usd_rate.rate_date
        and usd_rate.currency = 'USD'
),

final as (
    select
        transaction_id,
        account_id,
        coalesce(account_customer_id, 'account:' || account_id) as customer_id,
        customer_type,
        transaction_at,
        transaction_date,
        direction,
        channel,
        amount,
        currency,
        {{ money_in_cny('amount', 'currency', 'cny_per_unit') }} as amount_cny,
        case
            when currency = 'USD' then amount
            else {{ money_at_cross_rate('amount', 'cny_per_unit', 'usd_cny_per_unit') }}
        end as amount_usd,
        cny_per_unit,
        usd_cny_per_unit,
        (currency <> 'CNY') as is_foreign_currency,
        (currency <> 'CNY' and cny_per_unit is null) as has_missing_fx_rate,
        (currency <> 'USD' and (cny_per_unit is null or usd_cny_per_unit is null)) as has_missing_usd_rate,
        is_cross_border,
        case
            when channel = 'cash' then 'cash'
            when channel in ('transfer', 'cross_border') and customer_type = 'entity' then 'entity_transfer'
            when channel in ('transfer', 'cross_border') and is_cross_border
                then 'individual_cross_border_transfer'
            when channel in ('transfer', 'cross_border') then 'individual_domestic_transfer'
        end as large_value_category,
        counterparty_account,
        counterparty_name,
        counterparty_country,
        purpose,
        loaded_business_date
    from rated
)

select * from final
