{#-
    The loans whose loan-grain rows an incremental loan model must build again: those whose
    APR and installment inputs changed since the last build, i.e. a load after it brought
    their terms (a new or changed version of the loan: principal, rate, term, repayment
    method, upfront fee, dates) or a row of their delivered schedule (due dates, principal,
    interest, fees). A fee schedule, the APR convention or a pack parameter changing changes
    the project's fingerprint, and the build is a full refresh (regwatch.transform). Every
    other loan's installments, cash flows and APR are as the last build made them.
    With ``repayments``, also the loans whose repayment allocation can differ: a repayment
    delivered since (new, or delivered again, also under another loan: that loan's rows
    are ``this``'s), or one paid after the last build's date and by D.
-#}
{% macro loans_with_changed_inputs(repayments=false) %}
    select loan_id from {{ ref('stg_platform__loans') }}
    where loaded_business_date > {{ built_through() }}
    union
    select loan_id from {{ ref('stg_platform__schedules') }}
    where loaded_business_date > {{ built_through() }}
    {%- if repayments %}
    union
    select loan_id from {{ ref('stg_platform__repayments') }}
    where loaded_business_date > {{ built_through() }}
        or cast(paid_at as date) > {{ built_through() }}
    union
    select loan_id from {{ this }}
    where payment_id in (
        select payment_id from {{ ref('stg_platform__repayments') }}
        where loaded_business_date > {{ built_through() }}
    )
    {%- endif %}
{% endmacro %}

{#-
    A pre-hook of an incremental loan-grain model: in an incremental build, delete the rows
    of every loan it builds again (loans_with_changed_inputs), so a loan whose rebuilt rows
    are fewer (a schedule delivered for a loan whose installments came from its terms, terms
    that no longer give a schedule) keeps none of its old ones. Nothing in a full refresh.
-#}
{% macro delete_loans_with_changed_inputs() %}
    {%- if is_incremental() -%}
    delete from {{ this }} where loan_id in ({{ loans_with_changed_inputs() }})
    {%- endif -%}
{% endmacro %}
