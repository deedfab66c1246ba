{{ config(enabled=pack_defines(['graph_lookback_days', 'graph_min_amount_cny', 'graph_excluded_purposes'])) }}
{#-
    The transfer graph: one row (edge) per debit of a customer whose counterparty account is
    an account of another customer of the platform, dated within the last
    graph_lookback_days calendar days up to D, of graph_min_amount_cny or more, whose
    purpose is not one of graph_excluded_purposes (comma-separated; salary: a payroll is
    not a laundering hop). Debits only, so a transfer between two customers of the platform
    (delivered as a debit and a credit) is one edge. The flow rules (scatter-gather,
    gather-scatter, bipartite, layering) read it.
-#}
{%- set params = var('pack', {}) or {} -%}
{%- set excluded = [] -%}
{%- for purpose in (params.get('graph_excluded_purposes') or '').split(',') if purpose.strip() -%}
    {%- do excluded.append("'" ~ (purpose.strip() | replace("'", "''")) ~ "'") -%}
{%- endfor -%}
with

transactions as (
    select * from {{ ref('int_transactions_counterparties_resolved') }}
),

final as (
    select
        transaction_id,
        customer_id as source_customer_id,
        counterparty_customer_id as sink_customer_id,
        transaction_at,
        transaction_date,
        amount_cny,
        purpose
    from transactions
    where direction = 'debit'
        and counterparty_customer_id is not null
        and counterparty_customer_id <> customer_id
        and amount_cny >= {{ pack_param('graph_min_amount_cny') }}
        and transaction_date >= {{ window_start(pack_param('graph_lookback_days')) }}
        and transaction_date <= {{ business_date() }}
        {%- if excluded %}
        and coalesce(purpose, '') not in ({{ excluded | join(', ') }})
        {%- endif %}
)

select * from final
