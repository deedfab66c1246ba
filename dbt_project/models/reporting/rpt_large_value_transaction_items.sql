{#-
    The transactions of the large-value report of the business date: one row per transaction
    of a reportable customer-day's category and direction (rpt_large_value_transactions).
-#}
with

groups as (
    select * from {{ ref('fct_customer_large_value_days') }}
    where is_reportable
),

transactions as (
    select * from {{ ref('int_transactions_converted') }}
),

final as (
    select
        groups.business_date,
        groups.customer_id || '|' || cast(groups.transaction_date as {{ dbt.type_string() }}) as report_key,
        transactions.transaction_id,
        transactions.account_id,
        transactions.transaction_at,
        groups.large_value_category,
        groups.direction,
        groups.reportable_line,
        transactions.channel,
        transactions.amount,
        transactions.currency,
        transactions.amount_cny,
        transactions.amount_usd,
        transactions.counterparty_account,
        transactions.counterparty_name,
        transactions.counterparty_country,
        transactions.purpose
    from groups
    inner join transactions
        on {{ large_value_line_join('groups', 'transactions') }}
)

select * from final
