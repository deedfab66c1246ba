{#-
    Everyone screened against the watch list on the business date, one row per party
    and name: every customer (each name its accounts carry, with the birth date of an
    individual's resident ID and the country), and every counterparty named in the
    transactions loaded that day (per customer, counterparty account and name). A
    counterparty in the customer's own name is the customer, screened as such.

    The birth date is characters 7-14 of an 18-character resident ID (GB 11643-1999) only
    when they form a real date between 1900-01-01 and D: a passport number or a mistyped
    ID of 18 characters gives no birth date (safe_cast), and the party is screened by
    name alone; it never stops the build.
-#}
with

accounts as (
    select * from {{ ref('stg_platform__accounts') }}
),

transactions as (
    select * from {{ ref('stg_platform__transactions') }}
    where loaded_business_date = {{ business_date() }}
        and counterparty_name is not null
),

birth_dates as (
    select
        *,
        case
            when customer_type = 'individual' and length(id_number) = 18
                then {{ dbt.safe_cast(
                    "substr(id_number, 7, 4) || '-' || substr(id_number, 11, 2) || '-' || substr(id_number, 13, 2)",
                    api.Column.translate_type("date")
                ) }}
        end as id_birth_date
    from accounts
),

customers as (
    select
        customer_id,
        max(customer_type) as customer_type,
        full_name,
        max(country) as country,
        max(
            case
                when id_birth_date >= cast('1900-01-01' as date) and id_birth_date <= {{ business_date() }}
                    then id_birth_date
            end
        ) as date_of_birth
    from birth_dates
    where full_name is not null
    group by customer_id, full_name
),

counterparties as (
    select
        coalesce(accounts.customer_id, 'account:' || transactions.account_id) as customer_id,
        transactions.counterparty_account,
        transactions.counterparty_name,
        max(transactions.counterparty_country) as counterparty_country,
        cast(count(*) as integer) as transaction_count,
        {{ dbt.listagg('transactions.transaction_id', "','", 'order by transactions.transaction_id') }}
            as transaction_ids,
        min(transactions.transaction_at) as first_transaction_at
    from transactions
    left join accounts on transactions.account_id = accounts.account_id
    where accounts.full_name is null
        or lower(trim(transactions.counterparty_name)) <> lower(trim(accounts.full_name))
    group by 1, 2, 3
),

final as (
    select
        'customer' as party_role,
        customer_id,
        customer_type,
        customer_id as party_key,
        full_name as screened_name,
        date_of_birth,
        country,
        cast(null as {{ dbt.type_string() }}) as counterparty_account,
        cast(null as integer) as transaction_count,
        cast(null as {{ dbt.type_string() }}) as transaction_ids,
        cast(null as timestamp) as first_transaction_at
    from customers
    union all
    select
        'counterparty' as party_role,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as customer_type,
        customer_id || '|cp:' || coalesce(counterparty_account, 'name:' || counterparty_name) as party_key,
        counterparty_name as screened_name,
        cast(null as date) as date_of_birth,
        counterparty_country as country,
        counterparty_account,
        transaction_count,
        transaction_ids,
        first_transaction_at
    from counterparties
)

select * from final
