{#-
    One row per customer and shared link: a device any version of the customer's
    accounts was seen on, or an external account the customer's repayments came from
    (counterparty of a credit whose purpose is the pack's ring_repayment_purpose), kept
    only when at least two customers share it. The edges of the bipartite
    customer-link graph whose connected components are the rings.
-#}
with

versions as (
    select * from {{ ref('stg_platform__account_versions') }}
),

accounts as (
    select * from {{ ref('stg_platform__accounts') }}
),

transactions as (
    select * from {{ ref('stg_platform__transactions') }}
),

devices as (
    select
        customer_id,
        'device' as link_type,
        device_id as link_value,
        min(loaded_business_date) as first_seen_business_date
    from versions
    where device_id is not null
    group by customer_id, device_id
),

repayment_accounts as (
    select
        accounts.customer_id,
        'repayment_account' as link_type,
        transactions.counterparty_account as link_value,
        min(transactions.loaded_business_date) as first_seen_business_date
    from transactions
    inner join accounts on transactions.account_id = accounts.account_id
    where transactions.direction = 'credit'
        and transactions.purpose = {{ pack_param('ring_repayment_purpose') }}
        and transactions.counterparty_account is not null
    group by accounts.customer_id, transactions.counterparty_account
),

links as (
    select * from devices
    union all
    select * from repayment_accounts
),

shared as (
    select link_type, link_value
    from links
    group by link_type, link_value
    having count(distinct customer_id) >= 2
),

final as (
    select
        links.customer_id,
        links.link_type,
        links.link_value,
        links.first_seen_business_date
    from links
    inner join shared
        on links.link_type = shared.link_type
        and links.link_value = shared.link_value
)

select * from final
