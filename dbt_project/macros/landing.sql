{# Landing parquet as dbt sources, on any engine; the folder comes from var('landing_path')
   alone, so on a cluster it can be s3://…, abfss://… or hdfs://….
   DuckDB reads each table through its `external_location` (read_parquet) and needs nothing
   here. Spark has no such hook: before the run, every landing table is registered as an
   external parquet table `landing.<table>` over <landing_path>/<table>. Its columns are the
   ones declared in _landing__sources.yml: Spark skips files that start with `_`, so a table
   that holds only `_schema.parquet` has no schema to infer. A source whose meta says
   `partitioned_by: month` (Hive folders month=YYYY-MM, pipeline/io.py) gets that string
   partition column, and its partitions are recovered from the folders (`msck repair
   table`; without it the catalog knows no partition and the table reads empty). Dropping
   an external table leaves its files alone; re-creating it picks up a changed
   landing_path and new month folders. #}
{% macro register_landing_sources() -%}
    {{ return(adapter.dispatch('register_landing_sources', 'voronka')()) }}
{%- endmacro %}

{% macro default__register_landing_sources() -%}
{%- endmacro %}

{% macro spark__register_landing_sources() -%}
    {%- if execute -%}
        {%- set tables = graph.sources.values() | selectattr('source_name', 'equalto', 'landing') | list -%}
        {%- for schema in tables | map(attribute='schema') | unique -%}
            {%- do run_query('create schema if not exists ' ~ schema) -%}
        {%- endfor -%}
        {%- for table in tables -%}
            {%- set relation = api.Relation.create(schema=table.schema, identifier=table.identifier) -%}
            {%- set columns = [] -%}
            {%- for column in table.columns.values() -%}
                {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ column.data_type) -%}
            {%- endfor -%}
            {%- if not columns -%}
                {{ exceptions.raise_compiler_error('Source landing.' ~ table.name ~ ' declares no columns') }}
            {%- endif -%}
            {%- set partition = (table.config.meta or table.meta or {}).get('partitioned_by') -%}
            {%- set partitioned_by = '' -%}
            {%- if partition -%}
                {%- do columns.append(adapter.quote(partition) ~ ' string') -%}
                {%- set partitioned_by = ' partitioned by (' ~ adapter.quote(partition) ~ ')' -%}
            {%- endif -%}
            {%- set location = var('landing_path') ~ '/' ~ table.name -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query(
                'create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet'
                ~ partitioned_by ~ " location '" ~ dbt.escape_single_quotes(location) ~ "'"
            ) -%}
            {%- if partition -%}
                {%- do run_query('msck repair table ' ~ relation) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
