{{ config(unique_key='transaction_id') }}

with

latest as (
    {{ latest_as_of(source('platform', 'transactions'), ['txn_id'], []) }}
),

final as (
    select
        txn_id as transaction_id,
        account_id,
        txn_at as transaction_at,
        direction,
        amount,
        currency,
        channel,
        counterparty_account,
        counterparty_name,
        counterparty_country,
        purpose,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
