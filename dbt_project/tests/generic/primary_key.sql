{#-
    A primary key: every row has one (not null) and no two rows share it. dbt's `unique` and
    `not_null` on the same column, in one query and one node: a day's build pays dbt's
    per-node overhead (compile, context, events, a query) once per key instead of twice
    (issue 17). Each failing row is a key value held by more than one row, or the null key
    (its rows counted).
-#}
{% test primary_key(model, column_name) %}
    select {{ column_name }} as key_value, count(*) as rows_with_key
    from {{ model }}
    group by {{ column_name }}
    having count(*) > 1 or {{ column_name }} is null
{% endtest %}
