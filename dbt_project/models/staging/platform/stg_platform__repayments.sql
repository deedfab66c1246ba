{{ config(unique_key='payment_id') }}

with

latest as (
    {{ latest_as_of(source('platform', 'repayments'), ['payment_id'], []) }}
),

final as (
    select
        payment_id,
        loan_id,
        paid_at,
        installment_no,
        principal_paid,
        interest_paid,
        fee_paid,
        penalty_paid,
        payer_type,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
