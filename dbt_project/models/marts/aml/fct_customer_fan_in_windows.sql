{#- The fan-in mart (described in _aml__models.yml): fan_window_mart, shared with the fan-out mart. -#}
{{ fan_window_mart('credit', pack_param('fan_in_min_amount_cny')) }}
