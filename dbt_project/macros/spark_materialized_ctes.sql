{#-
    A model's shared CTEs computed once on Spark (config `spark_materialize_ctes=true`).

    Spark inlines every reference to a deterministic CTE (its optimizer's InlineCTE), so a
    CTE read three times by the next, which is read three times by the next, ... is planned
    and run once per path through the chain: fct_customer_bipartite_flows' pruning rounds and
    block CTEs came to hundreds of copies of the same joins, and its build took ~280 s on
    the e2e platform, nearly all of it query planning. On Spark such a model is built in
    steps instead, as if its shared CTEs were models of their own: each CTE that more than
    one later `from` or `join` reads becomes a Parquet table in the database `spark_steps`
    (written from its own body and the CTEs it needs), and the later CTEs and the model's
    query read that table. The result is the same query's (the same CTE bodies, the same
    final select). Temporary views would not do: Spark analyses a view's query again
    wherever it is read, and cached views still cost minutes of analysis here.
    `spark_steps` is not a schema regwatch copies back; every Spark build starts by
    dropping it (regwatch.spark.drop_built). DuckDB never reaches this macro (it overrides
    dbt-spark's create_table_as on Spark only) and plans shared CTEs once itself.

    The CTE list is split at its top level: names, `as (`, bodies to the matching
    parenthesis, skipping string literals and comments. A `with recursive` query is left
    as it is.
-#}
{% macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {%- if language == 'sql' and not temporary and config.get('spark_materialize_ctes') and execute -%}
        {%- set compiled_code = spark_materialized_ctes(relation, compiled_code) -%}
    {%- endif -%}
    {{- dbt.spark__create_table_as(temporary, relation, compiled_code, language) -}}
{%- endmacro %}

{% macro spark_materialized_ctes(relation, sql) -%}
    {%- set re = modules.re -%}
    {%- set head = re.match('(?is)^(\\s|--[^\\n]*\\n|/\\*.*?\\*/)*with\\s+(?!recursive\\b)', sql) -%}
    {%- if not head -%}
        {{- return(sql) -}}
    {%- endif -%}
    {%- set ctes = [] -%}
    {%- set ns = namespace(depth=0, last=head.end(), start=0, name='', done=false) -%}
    {%- set tokens = re.compile("'(?:[^']|'')*'|--[^\\n]*|/\\*.*?\\*/|[()]", re.S) -%}
    {%- for token in tokens.finditer(sql, head.end()) if not ns.done -%}
        {%- set text = token.group(0) -%}
        {%- if text == '(' -%}
            {%- if ns.depth == 0 -%}
                {%- set named = re.match('(?is)^\\s*' ~ (',\\s*' if ctes else '') ~ '(\\w+)\\s+as\\s*$', sql[ns.last:token.start()]) -%}
                {%- if named -%}
                    {%- set ns.name = named.group(1) -%}
                    {%- set ns.start = token.end() -%}
                {%- else -%}
                    {%- set ns.done = true -%}
                {%- endif -%}
            {%- endif -%}
            {%- set ns.depth = ns.depth + 1 -%}
        {%- elif text == ')' -%}
            {%- set ns.depth = ns.depth - 1 -%}
            {%- if ns.depth == 0 and not ns.done -%}
                {%- do ctes.append((ns.name, sql[ns.start:token.start()])) -%}
                {%- set ns.last = token.end() -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not ctes -%}
        {{- return(sql) -}}
    {%- endif -%}
    {%- set main = sql[ns.last:] -%}
    {%- set steps = 'spark_steps' -%}
    {%- do run_query('create database if not exists ' ~ steps) -%}
    {%- set defined = {} -%}
    {%- for name, body in ctes -%}
        {%- set later = (ctes[loop.index:] | map(attribute=1) | join('\n')) ~ '\n' ~ main -%}
        {%- if spark_ctes_read(later, [name]) | length > 1 -%}
            {%- set table = steps ~ '.' ~ relation.identifier ~ '__' ~ name -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' using parquet as\n' ~ spark_cte_prefix(defined, body) ~ body) -%}
            {%- do defined.update({name: 'select * from ' ~ table}) -%}
        {%- else -%}
            {%- do defined.update({name: body}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(spark_cte_prefix(defined, main) ~ main) -}}
{%- endmacro %}

{#- The names of `names` that `sql` reads (`from name` or `join name`), once per read. -#}
{% macro spark_ctes_read(sql, names) -%}
    {%- set read = [] -%}
    {%- for name in names -%}
        {%- for _ in modules.re.findall('(?i)\\b(?:from|join)\\s+' ~ name ~ '\\b', sql) -%}
            {%- do read.append(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(read) -}}
{%- endmacro %}

{#- `with` and the CTEs of `defined` (name -> body, in the model's order) that `sql` needs:
    those it reads, and those their bodies read, and so on; nothing when it needs none. -#}
{% macro spark_cte_prefix(defined, sql) -%}
    {%- set names = defined.keys() | list -%}
    {%- set needed = spark_ctes_read(sql, names) | unique | list -%}
    {%- for name in names | reverse if name in needed -%}
        {%- for read in spark_ctes_read(defined[name], names) if read not in needed -%}
            {%- do needed.append(read) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set listed = [] -%}
    {%- for name in names if name in needed -%}
        {%- do listed.append(name ~ ' as (\n' ~ defined[name] ~ '\n)') -%}
    {%- endfor -%}
    {{- return(('with\n' ~ listed | join(',\n') ~ '\n') if listed else '') -}}
{%- endmacro %}
