{{ config(unique_key=['loan_id', 'installment_no']) }}

with

latest as (
    {{ latest_as_of(source('platform', 'schedules'), ['loan_id', 'installment_no'], []) }}
),

final as (
    select
        loan_id,
        installment_no,
        due_date,
        principal_due,
        interest_due,
        fee_due,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
