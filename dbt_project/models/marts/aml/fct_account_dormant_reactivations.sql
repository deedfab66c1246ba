{{ config(enabled=pack_defines(['dormant_window_days', 'dormant_idle_days'])) }}
{#-
    One row per account that was dormant when the dormant window ending on D opened and
    moved money in that window. Dormant at the window start means no transaction of the
    account in the dormant_idle_days before it, and either the platform's own account master
    said "dormant" then (its latest version updated before the window start), or the loaded
    history covers the whole idle span and the account was opened before it. The rule
    compares the money moved (credits plus debits, CNY) with dormant_min_amount_cny
    (a long-idle account suddenly moving large sums, PBOC).
-#}
with

transactions as (
    select * from {{ ref('int_transactions_counterparties_resolved') }}
    where transaction_date <= {{ business_date() }}
),

bounds as (
    select
        {{ window_start(pack_param('dormant_window_days')) }} as window_start_date,
        cast({{ dbt.dateadd('day', '-(' ~ pack_param('dormant_idle_days') ~ ')', window_start(pack_param('dormant_window_days'))) }} as date) as idle_start_date,
        (select min(loaded_business_date) from transactions) as history_start_date
),

versions_before as (
    select
        versions.*,
        row_number() over (partition by versions.account_id order by versions.updated_at desc) as version_rank
    from {{ ref('stg_platform__account_versions') }} as versions
    cross join bounds
    where versions.updated_at < cast(bounds.window_start_date as timestamp)
),

status_at_start as (
    select account_id, customer_id, customer_type, opened_at, status
    from versions_before
    where version_rank = 1
),

idle_activity as (
    select transactions.account_id, max(transactions.transaction_date) as last_transaction_date
    from transactions
    cross join bounds
    where transactions.transaction_date < bounds.window_start_date
        and transactions.transaction_date >= bounds.idle_start_date
    group by transactions.account_id
),

last_before as (
    select transactions.account_id, max(transactions.transaction_date) as last_transaction_date
    from transactions
    cross join bounds
    where transactions.transaction_date < bounds.window_start_date
    group by transactions.account_id
),

dormant_accounts as (
    select
        status_at_start.*,
        case
            when status_at_start.status = 'dormant' then 'account master: dormant'
            else 'no transaction since ' || cast(bounds.idle_start_date as {{ dbt.type_string() }})
        end as dormancy_basis,
        bounds.window_start_date,
        bounds.idle_start_date
    from status_at_start
    cross join bounds
    left join idle_activity on status_at_start.account_id = idle_activity.account_id
    where idle_activity.account_id is null
        and (
            status_at_start.status = 'dormant'
            or (
                bounds.history_start_date <= bounds.idle_start_date
                and cast(status_at_start.opened_at as date) < bounds.idle_start_date
            )
        )
),

window_activity as (
    select
        transactions.account_id,
        cast(count(*) as integer) as transaction_count,
        cast(sum(case when transactions.direction = 'credit' then transactions.amount_cny else 0 end) as decimal(18, 2)) as credit_amount_cny,
        cast(sum(case when transactions.direction = 'debit' then transactions.amount_cny else 0 end) as decimal(18, 2)) as debit_amount_cny,
        cast(sum(transactions.amount_cny) as decimal(18, 2)) as moved_amount_cny,
        min(transactions.transaction_date) as first_transaction_date,
        max(transactions.transaction_date) as last_transaction_date,
        {{ dbt.listagg('transactions.transaction_id', "','", 'order by transactions.transaction_at, transactions.transaction_id') }} as transaction_ids
    from transactions
    cross join bounds
    where transactions.transaction_date >= bounds.window_start_date
    group by transactions.account_id
),

final as (
    select
        {{ business_date() }} as business_date,
        dormant_accounts.customer_id || '|' || dormant_accounts.account_id as entity_key,
        dormant_accounts.customer_id,
        dormant_accounts.customer_type,
        dormant_accounts.account_id,
        dormant_accounts.status as status_at_window_start,
        dormant_accounts.dormancy_basis,
        cast(dormant_accounts.opened_at as date) as opened_date,
        last_before.last_transaction_date as last_transaction_before_window,
        dormant_accounts.window_start_date,
        {{ business_date() }} as window_end_date,
        window_activity.transaction_count,
        window_activity.credit_amount_cny,
        window_activity.debit_amount_cny,
        window_activity.moved_amount_cny,
        window_activity.first_transaction_date,
        window_activity.last_transaction_date,
        window_activity.transaction_ids
    from dormant_accounts
    inner join window_activity on dormant_accounts.account_id = window_activity.account_id
    left join last_before on dormant_accounts.account_id = last_before.account_id
)

select * from final
