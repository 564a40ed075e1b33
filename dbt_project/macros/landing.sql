{# Landing parquet as dbt sources, on any engine: before every run (on-run-start) each
   landing table becomes `landing.<table>`, a relation over <landing path>/<table>. The
   folder comes from the environment variable VORONKA_LANDING_PATH (the pipeline sets it
   from `paths.landing`; default ../data/landing, beside dbt_project/), read only while dbt
   executes: nothing dbt parses names the folder, so a site's landing elsewhere makes dbt
   parse nothing again (docs/performance.md, "dbt's parse"). On a cluster it can be
   s3://…, abfss://… or hdfs://….
   DuckDB: a view over read_parquet of the table's files. Spark: an external parquet table
   with the columns declared in _landing__sources.yml (Spark skips files that start with
   `_`, so a table that holds only `_schema.parquet` has no schema to infer). A source whose
   meta says `partitioned_by: month` (Hive folders month=YYYY-MM, pipeline/io.py) gets that
   string partition column: DuckDB reads the folders' names (hive_partitioning), Spark
   recovers its partitions from the folders (`msck repair table`; without it the catalog
   knows no partition and the table reads empty). Dropping an external table or a view
   leaves the files alone; re-creating it picks up a changed landing folder and new month
   folders. #}
{% macro landing_path() -%}
    {{ return(env_var('VORONKA_LANDING_PATH', '../data/landing')) }}
{%- endmacro %}

{% macro landing_tables() -%}
    {{ return(graph.sources.values() | selectattr('source_name', 'equalto', 'landing') | list) }}
{%- endmacro %}

{% macro register_landing_sources() -%}
    {%- if execute -%}
        {%- set tables = landing_tables() -%}
        {%- for schema in tables | map(attribute='schema') | unique -%}
            {%- do run_query('create schema if not exists ' ~ schema) -%}
        {%- endfor -%}
        {%- for table in tables -%}
            {%- set partition = (table.config.meta or table.meta or {}).get('partitioned_by') -%}
            {%- do adapter.dispatch('register_landing_table', 'voronka')(
                table, landing_path() ~ '/' ~ table.name, partition
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro default__register_landing_table(table, location, partition) -%}
    {{ exceptions.raise_compiler_error('No landing tables for the adapter ' ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__register_landing_table(table, location, partition) -%}
    {%- set relation = api.Relation.create(
        database=target.database, schema=table.schema, identifier=table.identifier
    ) -%}
    {%- set files = location ~ ('/*/*.parquet' if partition else '/*.parquet') -%}
    {%- set options = ', hive_partitioning = true, hive_types_autocast = false' if partition else '' -%}
    {%- do run_query(
        'create or replace view ' ~ relation ~ " as select * from read_parquet('"
        ~ dbt.escape_single_quotes(files) ~ "'" ~ options ~ ')'
    ) -%}
{%- endmacro %}

{% macro spark__register_landing_table(table, location, partition) -%}
    {%- set relation = api.Relation.create(schema=table.schema, identifier=table.identifier) -%}
    {%- set columns = [] -%}
    {%- for column in table.columns.values() -%}
        {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ column.data_type) -%}
    {%- endfor -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error('Source landing.' ~ table.name ~ ' declares no columns') }}
    {%- endif -%}
    {%- set partitioned_by = '' -%}
    {%- if partition -%}
        {%- do columns.append(adapter.quote(partition) ~ ' string') -%}
        {%- set partitioned_by = ' partitioned by (' ~ adapter.quote(partition) ~ ')' -%}
    {%- endif -%}
    {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- do run_query(
        'create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet'
        ~ partitioned_by ~ " location '" ~ dbt.escape_single_quotes(location) ~ "'"
    ) -%}
    {%- if partition -%}
        {%- do run_query('msck repair table ' ~ relation) -%}
    {%- endif -%}
{%- endmacro %}
