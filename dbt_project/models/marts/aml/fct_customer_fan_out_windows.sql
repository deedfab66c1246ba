{#- The fan-out mart (described in _aml__models.yml): fan_window_mart, shared with the fan-in mart. -#}
{{ fan_window_mart('debit', pack_param('fan_out_min_amount_cny')) }}
