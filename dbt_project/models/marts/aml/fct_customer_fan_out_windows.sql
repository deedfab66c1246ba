{{ config(enabled=pack_defines([
    'fan_in_window_days', 'fan_out_window_days', 'fan_in_min_amount_cny', 'fan_out_min_amount_cny',
    'fan_lookback_days', 'fan_entity_expected_purposes',
]))  }}
{#-
    One row per customer whose non-cash debits to counterparties other than its own accounts
    in the fan_out_window_days window with the most of them among the
    windows ending on each of the last fan_lookback_days days (int_customer_fan_windows_slid) reach fan_out_min_amount_cny in total; the rule
    counts the distinct counterparties (funds dispersed in / concentrated out, PBOC).
-#}
{{ fan_window_mart('debit', pack_param('fan_out_min_amount_cny')) }}
