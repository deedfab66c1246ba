{#-
    Every transaction with its customer (through the account's latest version) and its
    amount in CNY at the FX rate of the transaction date. CNY is 1 by definition; a
    missing rate leaves amount_cny null and is flagged, never a silent zero.
-#}
with

transactions as (
    select * from {{ ref('stg_platform__transactions') }}
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

final as (
    select
        dated.transaction_id,
        dated.account_id,
        coalesce(accounts.customer_id, 'account:' || dated.account_id) as customer_id,
        accounts.customer_type,
        dated.transaction_at,
        dated.transaction_date,
        dated.direction,
        dated.channel,
        dated.amount,
        dated.currency,
        case
            when dated.currency = 'CNY' then dated.amount
            else cast(dated.amount * fx_rates.cny_per_unit as decimal(18, 2))
        end as amount_cny,
        (dated.currency <> 'CNY' and fx_rates.cny_per_unit is null) as has_missing_fx_rate,
        dated.loaded_business_date
    from dated
    left join accounts on dated.account_id = accounts.account_id
    left join fx_rates
        on dated.transaction_date = fx_rates.rate_date
        and dated.currency = fx_rates.currency
)

select * from final
