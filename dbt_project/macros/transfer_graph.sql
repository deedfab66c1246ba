{#-
    The transfer graph the flow rules walk, as import CTEs: ``edges``, one row per
    customer-to-customer transfer (int_customer_transfers_linked), and ``nodes``, each
    customer measured as a pass-through or not (int_customer_pass_throughs_measured).
    With ``windows=true`` also ``windows``: the sliding windows of graph_window_days
    calendar days over the last graph_lookback_days (sliding_windows). Follow it with a
    comma and the model's own CTEs.
-#}
{% macro transfer_graph(windows=false) -%}
edges as (
    select * from {{ ref('int_customer_transfers_linked') }}
),

nodes as (
    select * from {{ ref('int_customer_pass_throughs_measured') }}
)
{%- if windows %},

windows as (
{{- sliding_windows(pack_param('graph_lookback_days') | trim | int, pack_param('graph_window_days') | trim | int) }}
)
{%- endif %}
{%- endmacro %}
