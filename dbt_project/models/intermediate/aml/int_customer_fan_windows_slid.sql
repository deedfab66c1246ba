{{ config(enabled=pack_defines([
    'fan_in_window_days', 'fan_out_window_days', 'fan_in_min_amount_cny', 'fan_out_min_amount_cny',
    'fan_lookback_days', 'fan_entity_expected_purposes',
])) }}
{#-
    One row per customer and direction with its fan window: of every window of
    fan_in_window_days (credits) / fan_out_window_days (debits) calendar days ending on a day
    of the last fan_lookback_days calendar days up to D, the one with the most distinct
    counterparties among those whose total reaches the direction's amount floor (else the
    largest total; ties: the later window).

    The windows slide over every day, whatever the run cadence: a window that ended on a
    day no run was made for (a weekend, a weekly run, a skipped date) is still evaluated by
    the next run within fan_lookback_days. A window's end is one of the customer's own
    transaction dates: a window ending on a day without a leg holds a subset of the window
    ending on its last leg, so no other end can count more.

    Legs: non-cash movements with a counterparty other than the customer's own accounts.
    An entity customer's legs whose purpose is one of fan_entity_expected_purposes (payroll
    paid out, sales received) are its profile's expected fans and are not counted
    (PBOC Order [2016] No. 3: transactions inconsistent with the customer's identity or
    business); an individual's always count. Late-arriving transactions count in the
    windows of their own dates.

    Evidence (issue 17): every candidate window is counted with plain aggregates; the
    lists of counterparty keys and transaction ids are built only for a chosen window whose
    total reaches its direction's floor, the windows the fan marts keep and the rules
    report (about 1 % of them at platform scale); below the floor they are null.
-#}
{%- set expected_list = (var('pack', {}) or {}).get('fan_entity_expected_purposes') or [] -%}
with

legs as (
    select
        customer_id,
        customer_type,
        direction,
        transaction_date,
        transaction_at,
        transaction_id,
        counterparty_key,
        amount_cny,
        case when direction = 'credit' then {{ pack_param('fan_in_window_days') }} else {{ pack_param('fan_out_window_days') }} end as window_days,
        case when direction = 'credit' then {{ pack_param('fan_in_min_amount_cny') }} else {{ pack_param('fan_out_min_amount_cny') }} end as min_amount_cny
    from {{ ref('int_transactions_counterparties_resolved') }}
    where transaction_date <= {{ business_date() }}
        and transaction_date >= {{ window_start('(' ~ pack_param('fan_lookback_days') ~ ') + greatest(' ~ pack_param('fan_in_window_days') ~ ', ' ~ pack_param('fan_out_window_days') ~ ') - 1') }}
        and channel <> 'cash'
        and counterparty_key is not null
        and (counterparty_customer_id is null or counterparty_customer_id <> customer_id)
        {%- if expected_list | length > 0 %}
        and not (
            customer_type = 'entity'
            and coalesce(purpose, '') in ({% for p in expected_list %}'{{ p | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
        )
        {%- endif %}
),

window_ends as (
    select distinct customer_id, direction, transaction_date as window_end_date, window_days, min_amount_cny
    from legs
    where transaction_date >= {{ window_start(pack_param('fan_lookback_days')) }}
),

windows as (
    select
        window_ends.customer_id,
        window_ends.direction,
        window_ends.window_end_date,
        cast({{ dbt.dateadd('day', '1 - window_ends.window_days', 'window_ends.window_end_date') }} as date) as window_start_date,
        window_ends.window_days,
        window_ends.min_amount_cny,
        cast(count(distinct legs.counterparty_key) as integer) as counterparty_count,
        cast(count(*) as integer) as counterparty_transaction_count,
        cast(sum(legs.amount_cny) as decimal(18, 2)) as counterparty_amount_cny,
        min(legs.transaction_date) as counterparty_first_date,
        max(legs.transaction_date) as counterparty_last_date
    from window_ends
    inner join legs
        on legs.customer_id = window_ends.customer_id
        and legs.direction = window_ends.direction
        and legs.transaction_date <= window_ends.window_end_date
        and legs.transaction_date > cast({{ dbt.dateadd('day', '0 - window_ends.window_days', 'window_ends.window_end_date') }} as date)
    group by 1, 2, 3, 4, 5, 6
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, direction
            order by
                case when counterparty_amount_cny >= min_amount_cny then 0 else 1 end,
                case when counterparty_amount_cny >= min_amount_cny then counterparty_count else 0 end desc,
                counterparty_amount_cny desc,
                window_end_date desc
        ) as window_rank
    from windows
),

chosen as (
    select * from ranked where window_rank = 1
),

listed as (
    -- the evidence of a chosen window over its floor only
    select
        chosen.customer_id,
        chosen.direction,
        {{ dbt.listagg('distinct legs.counterparty_key', "','", 'order by legs.counterparty_key') }} as counterparty_keys,
        {{ dbt.listagg('legs.transaction_id', "','", 'order by legs.transaction_at, legs.transaction_id') }} as counterparty_transaction_ids
    from chosen
    inner join legs
        on legs.customer_id = chosen.customer_id
        and legs.direction = chosen.direction
        and legs.transaction_date <= chosen.window_end_date
        and legs.transaction_date > cast({{ dbt.dateadd('day', '0 - chosen.window_days', 'chosen.window_end_date') }} as date)
    where chosen.counterparty_amount_cny >= chosen.min_amount_cny
    group by chosen.customer_id, chosen.direction
),

customer_types as (
    select customer_id, max(customer_type) as customer_type
    from legs
    group by customer_id
),

final as (
    select
        chosen.customer_id,
        chosen.direction,
        customer_types.customer_type,
        chosen.window_start_date,
        chosen.window_end_date,
        chosen.counterparty_count,
        chosen.counterparty_transaction_count,
        chosen.counterparty_amount_cny,
        chosen.counterparty_first_date,
        chosen.counterparty_last_date,
        listed.counterparty_keys,
        listed.counterparty_transaction_ids
    from chosen
    left join listed
        on chosen.customer_id = listed.customer_id
        and chosen.direction = listed.direction
    left join customer_types on chosen.customer_id = customer_types.customer_id
)

select * from final
