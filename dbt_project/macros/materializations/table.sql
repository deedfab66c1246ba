{#-
    dbt-duckdb's `table` materialization, replaced in place instead of swapped in (issue 16/17:
    a day's build is ~60 models, and dbt's cost per model, not the SQL, was most of it).

    dbt-duckdb builds `<model>__dbt_tmp`, asks DuckDB for the old table's indexes, renames the
    old table to `<model>__dbt_backup`, renames the new one into place, commits and drops the
    backup: five statements and three adapter macro calls (each one a fresh Jinja context of
    every macro) around the model's own. Here the old relation is dropped and the new table
    created in one statement inside the model's transaction: a model that fails leaves the old
    table as it was (the transaction rolls back), as before, and nothing else changes: the
    same `create_table_as` (an enforced contract's column check, its typed columns and
    constraints, then the insert), hooks, grants and docs. Views reading the table read the new
    one (DuckDB binds a view by name when it is queried). Python models keep dbt-duckdb's
    swap: their table is written by the model's own DuckDB cursor, outside this transaction.
    tests/integration/test_transform_cost.py counts a model's statements.
-#}
{% materialization table, adapter="duckdb", supported_languages=['sql', 'python'] %}
  {%- set language = model['language'] -%}
  {%- if 'foreign_key' in enforced_constraint_types() -%}
    {% do exceptions.raise_compiler_error("regwatch's table materialization does not build foreign keys: " ~ this) %}
  {%- endif -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set backup_relation = make_backup_relation(target_relation, 'table' if existing_relation is none else existing_relation.type) -%}
  {#- What an interrupted build may have left behind (a lookup in dbt's relation cache). -#}
  {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
  {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}
  {% set grant_config = config.get('grants') %}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% if language == 'sql' %}
    {% call statement('main', language=language) -%}
      {%- if existing_relation is not none %}
      drop {{ existing_relation.type }} if exists {{ existing_relation }} cascade;
      {%- endif %}
      {{ create_table_as(False, target_relation, compiled_code, language) }}
    {%- endcall %}
    {% if existing_relation is not none %}
      {% do adapter.cache_dropped(existing_relation) %}
    {% endif %}
  {% else %}
    {#- A Python model writes its table with its own cursor: built aside, swapped in. -#}
    {% call statement('main', language=language) -%}
      {{- create_table_as(False, intermediate_relation, compiled_code, language) }}
    {%- endcall %}
    {% if existing_relation is not none %}
      {% do drop_indexes_on_relation(existing_relation) %}
      {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}
  {% endif %}

  {% do create_indexes(target_relation) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}
  {% do persist_docs(target_relation, model) %}
  -- `COMMIT` happens here
  {{ adapter.commit() }}
  {% if language != 'sql' %}
    {{ drop_relation_if_exists(backup_relation) }}
  {% endif %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
