{#-
    One row per customer with an account opened or closed in the load of the business
    date: every opening and closing of the customer's accounts dated inside the window
    (pack parameter churn_window_days, ending on D), from every account version
    delivered so far. A closing is a version whose status turns to closed (an account
    first seen closed counts its closing at that version).
-#}
with

versions as (
    select * from {{ ref('stg_platform__account_versions') }}
),

ordered as (
    select
        *,
        lag(status) over (partition by account_id order by updated_at, loaded_business_date) as previous_status,
        row_number() over (partition by account_id order by updated_at, loaded_business_date) as version_number
    from versions
),

events as (
    select customer_id, account_id, 'opened' as event_kind, opened_at as event_at, loaded_business_date
    from ordered
    where version_number = 1
    union all
    select customer_id, account_id, 'closed' as event_kind, updated_at as event_at, loaded_business_date
    from ordered
    where status = 'closed' and (previous_status is null or previous_status <> 'closed')
),

in_window as (
    select *
    from events
    where cast(event_at as date) > {{ dbt.dateadd('day', '-' ~ pack_param('churn_window_days'), business_date()) }}
        and cast(event_at as date) <= {{ business_date() }}
),

touched as (
    select distinct customer_id
    from in_window
    where loaded_business_date = {{ business_date() }}
),

final as (
    select
        {{ business_date() }} as business_date,
        cast(in_window.customer_id || '|account_churn' as {{ dbt.type_string() }}) as entity_key,
        cast(in_window.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast({{ dbt.dateadd('day', '1 - ' ~ pack_param('churn_window_days'), business_date()) }} as date)
            as window_start_date,
        cast(sum(case when event_kind = 'opened' then 1 else 0 end) as integer) as accounts_opened,
        cast(sum(case when event_kind = 'closed' then 1 else 0 end) as integer) as accounts_closed,
        cast(count(*) as integer) as churn_event_count,
        {{ dbt.listagg('distinct in_window.account_id', "','", 'order by in_window.account_id') }} as account_ids,
        min(in_window.event_at) as first_event_at,
        max(in_window.event_at) as last_event_at
    from in_window
    inner join touched on in_window.customer_id = touched.customer_id
    group by in_window.customer_id
)

select * from final
