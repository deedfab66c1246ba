{#-
    One row per loan whose proceeds window (from the start of its disbursement date,
    pack parameter proceeds_window_hours long) is open on the business date or saw a
    transfer loaded that day: how much of the net amount disbursed the borrower sent on
    to third parties inside the window. A third party is a counterparty that is neither
    one of the borrower's own accounts nor in the borrower's own name; cash withdrawals
    and card purchases are not transfers to a party.

    Amounts are in CNY through the transactions' conversion (money_in_cny, the rate of the
    disbursement date for the loan, int_transactions_converted's amount_cny for the
    transfers): a rate missing (or zero) on either side leaves that amount unknown, never
    0, and sets has_missing_fx_rate; the moved amount then sums the transfers that could be
    converted (a lower bound). fct_fx_rates_used names the missing (date, currency).
-#}
with

loans as (
    select * from {{ ref('stg_platform__loans') }}
),

accounts as (
    select * from {{ ref('stg_platform__accounts') }}
),

converted as (
    select * from {{ ref('int_transactions_converted') }}
),

fx_rates as (
    select * from {{ ref('stg_platform__fx_rates') }}
),

rated as (
    select
        loans.*,
        {{ cny_per_unit('loans.currency', 'fx_rates') }} as cny_per_unit
    from loans
    left join fx_rates
        on loans.disbursement_date = fx_rates.rate_date
        and loans.currency = fx_rates.currency
    where loans.disbursement_date is not null
),

windows as (
    select
        loans.loan_id,
        loans.borrower_id as customer_id,
        loans.disbursement_date,
        loans.currency,
        loans.cny_per_unit is null as has_missing_fx_rate,
        cast({{ money_in_cny('loans.principal - loans.upfront_fee', 'loans.currency', 'loans.cny_per_unit') }}
            as decimal(18, 2)) as net_disbursed_cny,
        cast(loans.disbursement_date as timestamp) as window_start_at,
        {{ dbt.dateadd('hour', pack_param('proceeds_window_hours'), 'cast(loans.disbursement_date as timestamp)') }}
            as window_end_at
    from rated as loans
),

third_party_debits as (
    select
        converted.transaction_id,
        converted.customer_id,
        converted.transaction_at,
        converted.amount_cny,
        converted.loaded_business_date,
        converted.counterparty_account
    -- the converted row carries the staged counterparty columns as delivered (no join back by id)
    from converted
    inner join accounts on converted.account_id = accounts.account_id
    where converted.direction = 'debit'
        and converted.channel in ('transfer', 'internal', 'cross_border')
        and (converted.counterparty_name is null
            or lower(trim(converted.counterparty_name)) <> lower(trim(accounts.full_name)))
        and not exists (
            select 1
            from accounts as own
            where own.customer_id = converted.customer_id
                and own.account_id = converted.counterparty_account
        )
),

touched as (
    -- the windows open on D, and those holding a transfer loaded on D (a late one re-opens its
    -- loan): only their transfers are summed and listed, not every loan's of the book
    select windows.*
    from windows
    where (windows.window_start_at < {{ dbt.dateadd('day', 1, 'cast(' ~ business_date() ~ ' as timestamp)') }}
            and windows.window_end_at > cast({{ business_date() }} as timestamp))
        or windows.loan_id in (
            select windows.loan_id
            from windows
            inner join third_party_debits as debits
                on windows.customer_id = debits.customer_id
                and debits.transaction_at >= windows.window_start_at
                and debits.transaction_at < windows.window_end_at
            where debits.loaded_business_date = {{ business_date() }}
        )
),

moved as (
    select
        touched.loan_id,
        cast(count(*) as integer) as transfer_count,
        cast(sum(debits.amount_cny) as decimal(18, 2)) as moved_cny,
        {{ dbt.listagg('debits.transaction_id', "','", 'order by debits.transaction_id') }} as transaction_ids,
        {{ dbt.listagg('distinct debits.counterparty_account', "','", 'order by debits.counterparty_account') }}
            as counterparty_accounts,
        min(debits.transaction_at) as first_transfer_at,
        -- a transfer without a rate is left out of moved_cny (a lower bound) and flagged
        max(case when debits.amount_cny is null then 1 else 0 end) as has_unconverted_transfer
    from touched
    inner join third_party_debits as debits
        on touched.customer_id = debits.customer_id
        and debits.transaction_at >= touched.window_start_at
        and debits.transaction_at < touched.window_end_at
    group by touched.loan_id
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(touched.customer_id || '|' || touched.loan_id as {{ dbt.type_string() }}) as entity_key,
        cast(touched.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(touched.loan_id as {{ dbt.type_string() }}) as loan_id,
        touched.disbursement_date,
        cast(touched.window_end_at as timestamp) as window_end_at,
        touched.net_disbursed_cny,
        cast(coalesce(moved.moved_cny, 0) as decimal(18, 2)) as moved_to_third_parties_cny,
        cast(
            case
                when touched.net_disbursed_cny > 0
                    then round(cast(coalesce(moved.moved_cny, 0) as double) / cast(touched.net_disbursed_cny as double), 6)
            end as double
        ) as moved_share,
        cast(coalesce(moved.transfer_count, 0) as integer) as transfer_count,
        cast(moved.counterparty_accounts as {{ dbt.type_string() }}) as counterparty_accounts,
        cast(moved.transaction_ids as {{ dbt.type_string() }}) as transaction_ids,
        cast(moved.first_transfer_at as timestamp) as first_transfer_at,
        (touched.has_missing_fx_rate or coalesce(moved.has_unconverted_transfer, 0) = 1) as has_missing_fx_rate
    from touched
    left join moved on touched.loan_id = moved.loan_id
)

select * from final
