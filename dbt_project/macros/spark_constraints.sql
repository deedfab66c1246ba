{#-
    A contracted model's not_null constraints on Spark. dbt-spark adds constraints only to
    Delta tables, and its default guess of the format (delta) makes it run ALTER COLUMN ...
    SET NOT NULL on the Parquet tables regwatch builds, which Spark refuses
    (UNSUPPORTED_FEATURE.TABLE_OPERATION). Parquet holds no constraint, so the promise is
    checked instead, once the table is built: one query counts each constrained column's
    nulls and a null fails the model naming the columns, as DuckDB's NOT NULL fails the
    insert. persist_constraints dispatches through the root project first, so this
    replaces dbt-spark's on Spark only.
-#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced -%}
        {%- set constrained = [] -%}
        {%- for column_name, column in model.columns.items() -%}
            {%- for constraint in column.constraints if constraint.type == 'not_null' -%}
                {%- do constrained.append(column_name) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- if constrained -%}
            {%- set counted -%}
                select
                {%- for column_name in constrained %}
                    count_if({{ adapter.quote(column_name) }} is null){{ "," if not loop.last }}
                {%- endfor %}
                from {{ relation }}
            {%- endset -%}
            {%- set nulls = run_query(counted).rows[0] -%}
            {%- set broken = [] -%}
            {%- for column_name in constrained -%}
                {%- if nulls[loop.index0] > 0 -%}
                    {%- do broken.append(column_name ~ " (" ~ nulls[loop.index0] ~ " nulls)") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if broken -%}
                {{ exceptions.raise_compiler_error("not_null constraint violated in " ~ relation ~ ": " ~ broken | join(", ")) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
