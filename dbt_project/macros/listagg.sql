{#-
    dbt-spark's listagg collects with collect_list and drops the ORDER BY (with only a
    warning): evidence strings (the transaction ids of a window, the lines a day reached)
    would come out in whatever order the executors finished, and so would the exception
    rows, the reports and the ledger's hashes. dbt.listagg dispatches through the root
    project first, so this replaces dbt-spark's on Spark only. DuckDB keeps dbt-duckdb's
    string_agg(... order by ...).

    Spark 4.3 has SQL's own listagg(x, d) WITHIN GROUP (ORDER BY ...), but it fails
    (ClassCastException in ListAgg.withNewChildrenInternal) in an aggregate that also holds
    two or more distinct aggregates (count(distinct a), count(distinct b): Spark rewrites
    those through an Expand and rebuilds each aggregate). So the ordered list is built from
    the sorted collection instead, with string_agg's semantics: nulls skipped, null when no
    value is left, the order the keys give (ascending only: every use here is).
    - listagg(distinct x) ordered by x: the sorted set of x, joined.
    - listagg(x) ordered by k1, k2, ...: the (k1, k2, ..., x) structs sorted (field by field,
      so ties on the keys are broken by x: one order whatever the executors did), x joined.
-#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg: limit_num is not supported on Spark") }}
    {%- endif -%}
    {%- set measure = measure | trim -%}
    {%- set is_distinct = measure.lower().startswith('distinct ') -%}
    {%- set value = measure[9:] | trim if is_distinct else measure -%}
    {%- set keys = [] -%}
    {%- if order_by_clause -%}
        {%- set clause = order_by_clause | trim -%}
        {%- if not clause.lower().startswith('order by ') -%}
            {{ exceptions.raise_compiler_error("listagg: the order clause must start with 'order by': " ~ clause) }}
        {%- endif -%}
        {#- split the keys on the commas outside parentheses -#}
        {%- set state = namespace(depth=0, current='') -%}
        {%- for character in clause[9:] -%}
            {%- if character == ',' and state.depth == 0 -%}
                {%- do keys.append(state.current | trim) -%}
                {%- set state.current = '' -%}
            {%- else -%}
                {%- if character == '(' -%}{%- set state.depth = state.depth + 1 -%}{%- endif -%}
                {%- if character == ')' -%}{%- set state.depth = state.depth - 1 -%}{%- endif -%}
                {%- set state.current = state.current ~ character -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do keys.append(state.current | trim) -%}
        {%- for key in keys -%}
            {%- set words = key.lower().split() -%}
            {%- if 'desc' in words or 'nulls' in words or 'asc' in words -%}
                {{ exceptions.raise_compiler_error("listagg on Spark: ascending keys only, got " ~ key) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if is_distinct -%}
        {%- if keys and keys != [value] -%}
            {{ exceptions.raise_compiler_error("listagg(distinct x) must be ordered by x, got " ~ order_by_clause) }}
        {%- endif -%}
        case when size(collect_set({{ value }})) > 0
            then array_join(array_sort(collect_set({{ value }})), {{ delimiter_text }}) end
    {%- else -%}
        case when count({{ value }}) > 0
            then array_join(transform(
                array_sort(collect_list(named_struct(
                    {%- for key in keys %}'k{{ loop.index }}', {{ key }}, {% endfor %}'v', {{ value }}
                ))),
                entry -> entry.v
            ), {{ delimiter_text }}) end
    {%- endif -%}
{%- endmacro %}

{#-
    On DuckDB, an ordered string_agg keeps a sort state per group: with one or two rows in
    most of half a million groups (the customer-days of fct_customer_large_value_days at 1M
    transactions) the ordered aggregates were most of the model's time (issue 17). When the
    order is the measure itself (ascending, the only order these models use: ids, currencies,
    keys), the values are collected unordered and the list sorted: the same string (NULLs
    skipped, DISTINCT deduplicating, NULL when nothing is left), whatever the order of the
    rows, at a third of the cost. Any other order, or a limit, keeps dbt-duckdb's
    string_agg(... order by ...).
-#}
{% macro duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- set stripped = measure | trim -%}
    {%- set is_distinct = (stripped[:9] | lower) == 'distinct ' -%}
    {%- set value = (stripped[9:] if is_distinct else stripped) | trim -%}
    {%- set order = (order_by_clause or '') | trim -%}
    {%- set by_value = (order[:9] | lower) == 'order by ' and order[9:].split() == value.split() -%}
    {%- if by_value and not limit_num -%}
        case when count({{ value }}) > 0 then array_to_string(list_sort(
        {%- if is_distinct -%}
            list_distinct(list({{ value }}))
        {%- else -%}
            list({{ value }}) filter (where {{ value }} is not null)
        {%- endif -%}
        ), {{ delimiter_text }}) end
    {%- elif limit_num -%}
        list_aggr(
            (array_agg({{ measure }} {{ order_by_clause }}))[1:{{ limit_num }}],
            'string_agg',
            {{ delimiter_text }}
        )
    {%- else -%}
        string_agg({{ measure }}, {{ delimiter_text }} {{ order_by_clause }})
    {%- endif -%}
{%- endmacro %}
