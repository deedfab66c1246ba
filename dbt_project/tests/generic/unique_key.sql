{#- A compound primary key: no two rows share the combination of these columns. -#}
{% test unique_key(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as rows_with_key
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
