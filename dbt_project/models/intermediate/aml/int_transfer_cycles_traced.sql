{{ config(enabled=pack_defines(['cycle_max_hops', 'cycle_min_amount_cny', 'cycle_lookback_days'])) }}
{#-
    One row per transfer that starts a cycle: money leaving customer A that comes back to A
    through other customers of this platform (A -> B -> A, A -> B -> C -> A, ... up to
    cycle_max_hops transfers), each hop later than the one before, each at least
    cycle_min_amount_cny, every customer on the path distinct, all dated within the last
    cycle_lookback_days calendar days up to D. A hop is a debit whose counterparty account
    is an account of another customer of the platform.

    The search is one recursive CTE (SQL:1999 `with recursive`): a frontier of open paths,
    each extended only by a later hop from its last customer to a customer not yet on it
    (or back to its origin, which closes the cycle and ends the path), never beyond
    cycle_max_hops. Time order and distinct customers bound the frontier, so 12 hops cost
    about what the paths that really exist cost, not one self-join per length. Paths carry
    their customers as '|A|B|C|' for the distinct test (dbt.position, portable). When
    several cycles start with the same transfer, the one that returns first (then the
    shortest) is kept and the others are counted.
-#}
{%- set max_hops = pack_param('cycle_max_hops') | trim | int -%}
with recursive

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

paths (
    origin_customer_id, first_transaction_id, left_at, left_date, left_amount_cny, last_customer_id,
    last_at, last_date, last_amount_cny, hop_count, node_path, customer_path, transaction_ids,
    hop_amounts, is_closed
) as (
    select
        customer_id,
        transaction_id,
        transaction_at,
        transaction_date,
        amount_cny,
        counterparty_customer_id,
        transaction_at,
        transaction_date,
        amount_cny,
        {{ path_started('customer_id', 'counterparty_customer_id', 'transaction_id') }},
        cast(cast(amount_cny as decimal(18, 2)) as {{ dbt.type_string() }}),
        false
    from hops
    union all
    select
        paths.origin_customer_id,
        paths.first_transaction_id,
        paths.left_at,
        paths.left_date,
        paths.left_amount_cny,
        hops.counterparty_customer_id,
        hops.transaction_at,
        hops.transaction_date,
        hops.amount_cny,
        {{ path_extended('paths', 'hops.counterparty_customer_id', 'hops.transaction_id') }},
        paths.hop_amounts || '; ' || cast(cast(hops.amount_cny as decimal(18, 2)) as {{ dbt.type_string() }}),
        hops.counterparty_customer_id = paths.origin_customer_id
    from paths
    inner join hops
        on hops.customer_id = paths.last_customer_id
        and hops.transaction_at > paths.last_at
    where not paths.is_closed
        and paths.hop_count < {{ max_hops }}
        and {{ path_may_reach('paths', 'hops.counterparty_customer_id') }}
),

cycles as (
    select
        hop_count,
        origin_customer_id,
        first_transaction_id,
        left_at,
        last_at as returned_at,
        left_date,
        last_date as returned_date,
        cast(left_amount_cny as decimal(18, 2)) as left_amount_cny,
        cast(last_amount_cny as decimal(18, 2)) as returned_amount_cny,
        transaction_ids,
        hop_amounts,
        customer_path
    from paths
    where is_closed and hop_count >= 2
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
