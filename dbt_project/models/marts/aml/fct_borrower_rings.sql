{#-
    One row per borrower in a ring as of the business date: customers joined, directly
    or through others, by a shared device or repayment account (a connected component
    of the customer-link graph). Counts the borrowers of the ring (customers with a
    loan) apart from the customers who never borrowed, and carries the shared links
    and how many of the ring's loans were written off.
-#}
with

rings as (
    select * from {{ ref('int_customer_rings_resolved') }}
),

links as (
    select * from {{ ref('int_customer_links_collected') }}
),

loans as (
    select * from {{ ref('stg_platform__loans') }}
),

borrowers as (
    select
        borrower_id as customer_id,
        count(*) as loan_count,
        sum(case when status = 'written_off' then 1 else 0 end) as written_off_loan_count
    from loans
    group by borrower_id
),

members as (
    select
        rings.customer_id,
        rings.ring_id,
        borrowers.customer_id is not null as is_borrower,
        coalesce(borrowers.loan_count, 0) as loan_count,
        coalesce(borrowers.written_off_loan_count, 0) as written_off_loan_count
    from rings
    left join borrowers on rings.customer_id = borrowers.customer_id
),

ring_members as (
    select
        ring_id,
        cast(sum(case when is_borrower then 1 else 0 end) as integer) as ring_borrower_count,
        cast(count(*) as integer) as ring_customer_count,
        {{ dbt.listagg("case when is_borrower then customer_id end", "','", 'order by customer_id') }}
            as ring_borrower_ids,
        {{ dbt.listagg('customer_id', "','", 'order by customer_id') }} as ring_customer_ids,
        cast(sum(loan_count) as integer) as ring_loan_count,
        cast(sum(written_off_loan_count) as integer) as ring_written_off_loan_count
    from members
    group by ring_id
),

ring_links as (
    select
        rings.ring_id,
        {{ dbt.listagg(
            "distinct case when links.link_type = 'device' then links.link_value end", "','",
            "order by case when links.link_type = 'device' then links.link_value end"
        ) }} as shared_device_ids,
        {{ dbt.listagg(
            "distinct case when links.link_type = 'repayment_account' then links.link_value end", "','",
            "order by case when links.link_type = 'repayment_account' then links.link_value end"
        ) }} as shared_repayment_accounts,
        max(links.first_seen_business_date) as last_link_business_date
    from links
    inner join rings on links.customer_id = rings.customer_id
    group by rings.ring_id
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(members.customer_id || '|ring:' || members.ring_id as {{ dbt.type_string() }}) as entity_key,
        cast(members.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(members.ring_id as {{ dbt.type_string() }}) as ring_id,
        ring_members.ring_borrower_count,
        ring_members.ring_customer_count,
        cast(ring_members.ring_borrower_ids as {{ dbt.type_string() }}) as ring_borrower_ids,
        cast(ring_members.ring_customer_ids as {{ dbt.type_string() }}) as ring_customer_ids,
        cast(ring_links.shared_device_ids as {{ dbt.type_string() }}) as shared_device_ids,
        cast(ring_links.shared_repayment_accounts as {{ dbt.type_string() }}) as shared_repayment_accounts,
        ring_members.ring_loan_count,
        ring_members.ring_written_off_loan_count,
        cast(ring_links.last_link_business_date as date) as last_link_business_date
    from members
    inner join ring_members on members.ring_id = ring_members.ring_id
    left join ring_links on members.ring_id = ring_links.ring_id
    where members.is_borrower
)

select * from final
