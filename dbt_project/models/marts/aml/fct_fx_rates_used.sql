{#-
    One row per (rate date, currency) whose FX rate a conversion as of the business date D
    reads, with whether the delivery has it (has_fx_rate) and what needs it: the rules
    cn.aml.missing_fx_rate and us.aml.missing_fx_rate raise exactly one exception per
    missing (date, currency), naming it, however many transactions or loans it leaves
    unconverted (issue 15: a missing USD rate was blamed on the EUR and HKD legs it left
    without a USD equivalent, and a CHF card payment raised nothing).

    A conversion from currency X to currency Y on date t reads the CNY rate of X (unless X
    is CNY) and of Y (unless Y is CNY) of t, and nothing when X = Y. Conversions read:
    - every transaction, to the pack's reporting currency (its amount in the AML marts of
      the pack), and a cash or transfer leg in another currency also to USD (the
      large-value USD lines of PBOC Order [2016] No. 3 art. 5);
    - every loan disbursed by D, to the reporting currency: its principal at the
      disbursement date, its outstanding amounts at D (when outstanding), its principal
      written off at the write-off date, each compensation or recovery payment at its own date
      (fct_loan_positions, int_compensations_summarised).
    Whole history as of D: a gap stays an open alert until its rate is delivered.
-#}
{%- set code = reporting_currency() -%}
with

transactions as (
    select * from {{ ref('int_transactions_converted') }}
),

positions as (
    select * from {{ ref('fct_loan_positions') }}
),

compensations as (
    select
        repayments.payment_id,
        repayments.loan_id,
        cast(repayments.paid_at as date) as paid_date,
        positions.currency
    from {{ ref('stg_platform__repayments') }} as repayments
    inner join positions on repayments.loan_id = positions.loan_id
    where cast(repayments.paid_at as date) <= {{ business_date() }}
        and repayments.payer_type <> 'borrower'
),

fx_rates as (
    select * from {{ ref('stg_platform__fx_rates') }}
),

conversions as (
    select transaction_date as rate_date, currency as from_currency, '{{ code }}' as to_currency,
        transaction_id, cast(null as {{ dbt.type_string() }}) as loan_id
    from transactions
    union all
    select transaction_date, currency, 'USD', transaction_id, cast(null as {{ dbt.type_string() }})
    from transactions
    where currency <> '{{ code }}' and large_value_category is not null
    union all
    select disbursement_date, currency, '{{ code }}', cast(null as {{ dbt.type_string() }}), loan_id
    from positions
    union all
    select {{ business_date() }}, currency, '{{ code }}', cast(null as {{ dbt.type_string() }}), loan_id
    from positions
    where is_outstanding
    union all
    select coalesce(written_off_date, {{ business_date() }}), currency, '{{ code }}', cast(null as {{ dbt.type_string() }}), loan_id
    from positions
    where is_written_off
    union all
    select paid_date, currency, '{{ code }}', cast(null as {{ dbt.type_string() }}), loan_id
    from compensations
    union all
    select recoveries.paid_date, positions.currency, '{{ code }}', cast(null as {{ dbt.type_string() }}), positions.loan_id
    from {{ ref('int_repayments_allocated') }} as recoveries
    inner join positions on recoveries.loan_id = positions.loan_id
    where positions.is_written_off and recoveries.paid_date > positions.written_off_date
),

rates_read as (
    select rate_date, from_currency as currency, transaction_id, loan_id
    from conversions
    where from_currency <> to_currency and from_currency <> 'CNY'
    union all
    select rate_date, to_currency as currency, transaction_id, loan_id
    from conversions
    where from_currency <> to_currency and to_currency <> 'CNY'
),

numbered as (
    select
        rates_read.*,
        dense_rank() over (
            partition by rates_read.rate_date, rates_read.currency order by rates_read.transaction_id
        ) as transaction_rank,
        dense_rank() over (partition by rates_read.rate_date, rates_read.currency order by rates_read.loan_id)
            as loan_rank
    from rates_read
),

used as (
    select
        rate_date,
        currency,
        cast(count(distinct transaction_id) as integer) as transaction_count,
        cast(count(distinct loan_id) as integer) as loan_count,
        {{ dbt.listagg(
            "distinct case when transaction_rank <= 20 then transaction_id end", "', '", 'order by case when transaction_rank <= 20 then transaction_id end'
        ) }} as first_transaction_ids,
        {{ dbt.listagg(
            "distinct case when loan_rank <= 20 then loan_id end", "', '", 'order by case when loan_rank <= 20 then loan_id end'
        ) }} as first_loan_ids
    from numbered
    group by rate_date, currency
),

final as (
    select
        {{ business_date() }} as business_date,
        used.currency || '|' || cast(used.rate_date as {{ dbt.type_string() }}) as entity_key,
        used.rate_date,
        used.currency,
        '{{ code }}' as reporting_currency,
        nullif(fx_rates.cny_per_unit, 0) is not null as has_fx_rate,
        used.transaction_count,
        cast(
            coalesce(used.first_transaction_ids, '')
            || case when used.transaction_count > 20
                then ' (+' || cast(used.transaction_count - 20 as {{ dbt.type_string() }}) || ' more)' else '' end
            as {{ dbt.type_string() }}
        ) as transaction_ids,
        used.loan_count,
        cast(
            coalesce(used.first_loan_ids, '')
            || case when used.loan_count > 20
                then ' (+' || cast(used.loan_count - 20 as {{ dbt.type_string() }}) || ' more)' else '' end
            as {{ dbt.type_string() }}
        ) as loan_ids
    from used
    left join fx_rates
        on used.rate_date = fx_rates.rate_date
        and used.currency = fx_rates.currency
)

select * from final
