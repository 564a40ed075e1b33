{# Landing parquet as dbt sources, on any engine; the folder comes from var('landing_path')
   alone, so on a cluster it can be s3://…, abfss://… or hdfs://….
   DuckDB reads each table through its `external_location` (read_parquet) and needs nothing
   here. Spark has no such hook: before the run, every landing table is registered as an
   external parquet table `landing.<table>` over <landing_path>/<table>. Its columns are the
   ones declared in _landing__sources.yml: Spark skips files that start with `_`, so a table
   that holds only `_schema.parquet` has no schema to infer. Dropping an external table
   leaves its files alone; re-creating it picks up a changed landing_path. #}
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
            {%- set location = var('landing_path') ~ '/' ~ table.name -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query(
                'create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet'
                ~ " location '" ~ dbt.escape_single_quotes(location) ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
