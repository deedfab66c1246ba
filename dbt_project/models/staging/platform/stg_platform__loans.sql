{{ config(unique_key='loan_id') }}

{#- Incremental: the row kept for a key a new load brings competes with its new versions. -#}
{%- set kept = [
    'loan_id', 'borrower_id', 'borrower_type', 'product_code', 'partner_id',
    'is_related_party', 'contract_date', 'disbursement_date', 'principal', 'currency',
    'term_months', 'repayment_method', 'nominal_rate', 'upfront_fee', 'status',
    'written_off_date', 'updated_at', '_load_id'
] %}

with

latest as (
    {{ latest_as_of(source('platform', 'loans'), ['loan_id'], ['updated_at'], kept=kept) }}
),

final as (
    select
        loan_id,
        borrower_id,
        borrower_type,
        product_code,
        partner_id,
        is_related_party,
        contract_date,
        disbursement_date,
        principal,
        currency,
        term_months,
        repayment_method,
        nominal_rate,
        upfront_fee,
        status,
        written_off_date,
        updated_at,
        _business_date as loaded_business_date,
        _load_id
    from latest
)

select * from final
