{{ config(enabled=pack_defines(['cycle_max_hops', 'cycle_min_amount_cny', 'cycle_lookback_days'])) }}
{#-
    One row per transfer that starts a cycle: money leaving customer A that comes back to A
    through other customers of this platform (A -> B -> A, A -> B -> C -> A, ... up to
    cycle_max_hops transfers), each hop later than the one before, each at least
    cycle_min_amount_cny, every customer on the path distinct, all dated within the last
    cycle_lookback_days calendar days up to D. A hop is a debit whose counterparty account
    is an account of another customer of the platform.

    The depth is bounded, so the search is unrolled into one self-join per length (portable
    SQL, no recursive CTE). When several cycles start with the same transfer, the one that
    returns first (then the shortest) is kept and the others are counted.
-#}
{%- set max_hops = pack_param('cycle_max_hops') | trim | int -%}
with

hops as (
    select
        transaction_id,
        customer_id,
        counterparty_customer_id,
        transaction_at,
        transaction_date,
        amount_cny
    from {{ ref('int_transactions_counterparties_resolved') }}
    where direction = 'debit'
        and counterparty_customer_id is not null
        and counterparty_customer_id <> customer_id
        and amount_cny >= {{ pack_param('cycle_min_amount_cny') }}
        and transaction_date >= {{ window_start(pack_param('cycle_lookback_days')) }}
        and transaction_date <= {{ business_date() }}
),

cycles as (
{%- for k in range(2, max_hops + 1) %}
    {% if not loop.first %}union all{% endif %}
    select
        {{ k }} as hop_count,
        h1.customer_id as origin_customer_id,
        h1.transaction_id as first_transaction_id,
        h1.transaction_at as left_at,
        h{{ k }}.transaction_at as returned_at,
        h1.transaction_date as left_date,
        h{{ k }}.transaction_date as returned_date,
        cast(h1.amount_cny as decimal(18, 2)) as left_amount_cny,
        cast(h{{ k }}.amount_cny as decimal(18, 2)) as returned_amount_cny,
        {% for i in range(1, k + 1) %}h{{ i }}.transaction_id{% if not loop.last %} || ',' || {% endif %}{% endfor %} as transaction_ids,
        {% for i in range(1, k + 1) %}cast(h{{ i }}.amount_cny as varchar){% if not loop.last %} || '; ' || {% endif %}{% endfor %} as hop_amounts,
        {% for i in range(1, k + 1) %}h{{ i }}.customer_id || ' > ' || {% endfor %}h1.customer_id as customer_path
    from hops as h1
    {%- for i in range(2, k + 1) %}
    inner join hops as h{{ i }}
        on h{{ i }}.customer_id = h{{ i - 1 }}.counterparty_customer_id
        and h{{ i }}.transaction_at > h{{ i - 1 }}.transaction_at
        {%- for j in range(1, i - 1) %}
        and h{{ i }}.customer_id <> h{{ j }}.customer_id
        {%- endfor %}
    {%- endfor %}
    where h{{ k }}.counterparty_customer_id = h1.customer_id
{%- endfor %}
),

ranked as (
    select
        *,
        count(*) over (partition by first_transaction_id) as cycles_found,
        row_number() over (
            partition by first_transaction_id
            order by returned_at, hop_count, transaction_ids
        ) as cycle_rank
    from cycles
),

final as (
    select
        origin_customer_id as customer_id,
        first_transaction_id,
        hop_count,
        left_at,
        returned_at,
        left_date,
        returned_date,
        cast({{ dbt.datediff('left_date', 'returned_date', 'day') }} as integer) as return_days,
        left_amount_cny,
        returned_amount_cny,
        cast(returned_amount_cny / left_amount_cny as decimal(12, 6)) as returned_ratio,
        customer_path,
        transaction_ids,
        hop_amounts,
        cast(cycles_found as integer) as cycles_found
    from ranked
    where cycle_rank = 1
)

select * from final
