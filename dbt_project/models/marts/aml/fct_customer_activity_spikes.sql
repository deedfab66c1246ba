{{ config(enabled=pack_defines([
    'activity_spike_window_days', 'activity_spike_baseline_days', 'activity_spike_min_history_days',
    'activity_spike_min_transactions', 'activity_spike_min_amount_cny', 'activity_spike_factor',
    'activity_spike_lookback_days',
])) }}
{#-
    The relative line (issue 14): a customer's activity against its own trailing baseline, so
    that patterns below the absolute money lines surface (PBOC Order [2016] No. 3: transactions
    inconsistent with the customer's profile; 31 CFR 1020.320: no apparent purpose, not the
    sort the customer normally conducts).

    One row per customer with, among the windows of activity_spike_window_days calendar days
    ending on each of the last activity_spike_lookback_days days up to D (they slide over every
    day, whatever the run cadence), the one with the highest spike ratio that is a candidate:
    at least activity_spike_min_transactions transactions and activity_spike_min_amount_cny of
    turnover (credits plus debits, every channel, CNY) in the window, and a baseline observed
    on at least activity_spike_min_history_days days.

    Baseline: the activity_spike_baseline_days calendar days before the window, counted from
    the first transaction date the warehouse holds when that is later (a platform's history
    starts somewhere); expected = baseline / observed days x window days, for the count and the
    turnover. spike_ratio = the lesser of window / expected of the two: both the number and the
    value of the transactions jump. A customer with no baseline activity at all has no ratio
    (null, never an exception): a long-idle account moving money is cn.aml.dormant_reactivated's
    case.
-#}
{%- set w = pack_param('activity_spike_window_days') -%}
{%- set b = pack_param('activity_spike_baseline_days') -%}
with

transactions as (
    -- the columns read, no more: DuckDB materialises a CTE read several times, every column of it
    select customer_id, customer_type, transaction_id, transaction_at, transaction_date, amount_cny
    from {{ ref('int_transactions_converted') }}
    where transaction_date <= {{ business_date() }}
        and customer_id is not null
        and amount_cny is not null
),

history as (
    select min(transaction_date) as first_date from transactions
),

customer_days as (
    select
        customer_id,
        transaction_date,
        cast({{ dbt.datediff("cast('2000-01-01' as date)", 'transaction_date', 'day') }} as integer) as day_number,
        cast(count(*) as integer) as transaction_count,
        cast(sum(amount_cny) as decimal(18, 2)) as amount_cny
    from transactions
    where transaction_date >= {{ window_start('(' ~ pack_param('activity_spike_lookback_days') ~ ') + (' ~ w ~ ') + (' ~ b ~ ') - 1') }}
    group by customer_id, transaction_date
),

framed as (
    select
        customer_days.*,
        sum(transaction_count) over (
            partition by customer_id order by day_number
            range between {{ w }} - 1 preceding and current row
        ) as window_transaction_count,
        sum(amount_cny) over (
            partition by customer_id order by day_number
            range between {{ w }} - 1 preceding and current row
        ) as window_amount_cny,
        coalesce(sum(transaction_count) over (
            partition by customer_id order by day_number
            range between ({{ w }}) + ({{ b }}) - 1 preceding and {{ w }} preceding
        ), 0) as baseline_transaction_count,
        coalesce(sum(amount_cny) over (
            partition by customer_id order by day_number
            range between ({{ w }}) + ({{ b }}) - 1 preceding and {{ w }} preceding
        ), 0) as baseline_amount_cny
    from customer_days
),

windows as (
    select
        framed.*,
        framed.transaction_date as window_end_date,
        cast({{ dbt.dateadd('day', '1 - (' ~ w ~ ')', 'framed.transaction_date') }} as date) as window_start_date,
        cast({{ dbt.dateadd('day', '1 - (' ~ w ~ ') - (' ~ b ~ ')', 'framed.transaction_date') }} as date) as baseline_start_date,
        history.first_date
    from framed
    cross join history
    where framed.transaction_date >= {{ window_start(pack_param('activity_spike_lookback_days')) }}
),

observed as (
    select
        *,
        cast({{ dbt.datediff('greatest(baseline_start_date, first_date)', 'window_start_date', 'day') }} as integer) as baseline_observed_days
    from windows
),

scored as (
    select
        *,
        {{ double_as_decimal('cast(baseline_transaction_count as double) / baseline_observed_days * ' ~ w, 18, 4) }} as expected_transaction_count,
        {{ double_as_decimal('cast(baseline_amount_cny as double) / baseline_observed_days * ' ~ w, 18, 2) }} as expected_amount_cny
    from observed
    where baseline_observed_days >= {{ pack_param('activity_spike_min_history_days') }}
        and window_transaction_count >= {{ pack_param('activity_spike_min_transactions') }}
        and window_amount_cny >= {{ pack_param('activity_spike_min_amount_cny') }}
),

ratios as (
    select
        *,
        {{ double_as_decimal(
            'least(cast(window_transaction_count as double) / cast(nullif(expected_transaction_count, 0) as double),'
            ~ ' cast(window_amount_cny as double) / cast(nullif(expected_amount_cny, 0) as double))', 18, 4
        ) }} as spike_ratio
    from scored
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by case when spike_ratio is null then 1 else 0 end, spike_ratio desc, window_end_date desc
        ) as window_rank
    from ratios
),

chosen as (
    select * from ranked where window_rank = 1
),

window_transactions as (
    select
        chosen.customer_id,
        {{ dbt.listagg('transactions.transaction_id', "','", 'order by transactions.transaction_at, transactions.transaction_id') }} as transaction_ids
    from chosen
    inner join transactions
        on transactions.customer_id = chosen.customer_id
        and transactions.transaction_date between chosen.window_start_date and chosen.window_end_date
    group by chosen.customer_id
),

customer_types as (
    select customer_id, max(customer_type) as customer_type
    from transactions
    where customer_id in (select customer_id from chosen)
    group by customer_id
),

final as (
    select
        {{ business_date() }} as business_date,
        chosen.customer_id as entity_key,
        chosen.customer_id,
        customer_types.customer_type,
        chosen.window_start_date,
        chosen.window_end_date,
        cast(chosen.window_transaction_count as integer) as window_transaction_count,
        cast(chosen.window_amount_cny as decimal(18, 2)) as window_amount_cny,
        cast(greatest(chosen.baseline_start_date, chosen.first_date) as date) as baseline_start_date,
        cast(chosen.baseline_observed_days as integer) as baseline_observed_days,
        cast(chosen.baseline_transaction_count as integer) as baseline_transaction_count,
        cast(chosen.baseline_amount_cny as decimal(18, 2)) as baseline_amount_cny,
        chosen.expected_transaction_count,
        chosen.expected_amount_cny,
        chosen.spike_ratio,
        window_transactions.transaction_ids
    from chosen
    left join window_transactions on chosen.customer_id = window_transactions.customer_id
    left join customer_types on chosen.customer_id = customer_types.customer_id
)

select * from final
