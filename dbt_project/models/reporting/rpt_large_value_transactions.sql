{#-
    The large-value transaction report of the business date (PBOC Order [2016] No. 3): one
    row per reportable customer-day - a customer and transaction date with at least one
    category and direction at or above its art. 5 line among the customer-days touched by
    the load of the date (a late transaction re-lists its day: a supplementary report) -
    with the customer's identity, the lines reached, the deadline and the transactions
    (listed one per row in rpt_large_value_transaction_items). A customer-day with a leg
    not converted for want of an FX rate says so (has_missing_fx_rate,
    unconverted_transaction_ids) and its amount_cny is null: unknown, not a partial sum.
-#}
with

groups as (
    select * from {{ ref('fct_customer_large_value_days') }}
    where is_reportable
),

accounts as (
    select * from {{ ref('stg_platform__accounts') }}
),

customers as (
    select
        customer_id,
        full_name,
        id_number,
        country
    from (
        select
            customer_id,
            full_name,
            id_number,
            country,
            row_number() over (partition by customer_id order by updated_at desc, account_id) as version_rank
        from accounts
    ) as ranked
    where version_rank = 1
),

described as (
    select
        groups.*,
        groups.large_value_category || ' ' || groups.direction || ': '
            || case
                when groups.reportable_line = 'CNY'
                    then 'CNY ' || cast(groups.cny_amount as {{ dbt.type_string() }}) || ' >= ' || cast(groups.cny_threshold as {{ dbt.type_string() }})
                when groups.reportable_line = 'USD'
                    then 'USD ' || cast(groups.foreign_amount_usd as {{ dbt.type_string() }}) || ' >= '
                        || cast(groups.usd_threshold as {{ dbt.type_string() }})
                else 'CNY ' || cast(groups.cny_amount as {{ dbt.type_string() }}) || ' >= ' || cast(groups.cny_threshold as {{ dbt.type_string() }})
                    || ' and USD ' || cast(groups.foreign_amount_usd as {{ dbt.type_string() }}) || ' >= '
                    || cast(groups.usd_threshold as {{ dbt.type_string() }})
            end as line_reached
    from groups
),

customer_days as (
    select
        customer_id,
        max(customer_type) as customer_type,
        transaction_date,
        min(report_deadline) as report_deadline,
        cast(count(*) as integer) as reportable_group_count,
        {{ dbt.listagg('line_reached', "'; '", 'order by large_value_category, direction') }} as lines_reached,
        cast(sum(transaction_count) as integer) as transaction_count,
        cast(case when count(*) = count(amount_cny) then sum(amount_cny) end as decimal(18, 2)) as amount_cny,
        {{ dbt.listagg('transaction_ids', "','", 'order by large_value_category, direction') }} as transaction_ids,
        {{ dbt.bool_or('has_missing_fx_rate') }} as has_missing_fx_rate,
        {{ dbt.listagg('unconverted_transaction_ids', "','", 'order by large_value_category, direction') }}
            as unconverted_transaction_ids
    from described
    group by customer_id, transaction_date
),

final as (
    select
        {{ business_date() }} as business_date,
        customer_days.customer_id || '|' || cast(customer_days.transaction_date as {{ dbt.type_string() }}) as report_key,
        customer_days.customer_id,
        customer_days.customer_type,
        customers.full_name,
        customers.id_number,
        customers.country,
        customer_days.transaction_date,
        customer_days.report_deadline,
        customer_days.reportable_group_count,
        customer_days.lines_reached,
        customer_days.transaction_count,
        customer_days.amount_cny,
        customer_days.transaction_ids,
        customer_days.has_missing_fx_rate,
        cast(coalesce(customer_days.unconverted_transaction_ids, '') as {{ dbt.type_string() }}) as unconverted_transaction_ids
    from customer_days
    left join customers on customer_days.customer_id = customers.customer_id
)

select * from final
