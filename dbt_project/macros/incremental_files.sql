{# Incremental files (docs/analyst-guide.md "Incremental builds").

   The CRM staging tables keep one row per key (an exact stage entry, a deal's export
   snapshot) out of every copy landing holds: each cumulative export repeats nearly every
   row of the one before. A run reads only the rows of the files new since the previous
   build and replaces the rows of the keys they bring, keeping every other key as built.
   The pipeline (pipeline/incremental.py) passes the new files' ids as the environment
   variable VORONKA_NEW_FILES (a JSON list; a var `new_files` wins, as for the month
   boundaries), and only when every new file comes after every built one in the arrival
   order (received_at, path, file_id: stg_landing__file_arrivals): a new copy of a key
   then always wins over the built one, as it would in a full rebuild. Without it
   (unset, null: a hand-run `dbt build`, or a new file that arrived before a built one)
   a run reads every file and replaces the whole table: slow, never wrong.
   A model whose pre-hook already deletes the built rows the run writes again passes
   deleted_by_pre_hook=true: the run then only inserts (int_stage_entries_inferred).
   On a first build or with --full-refresh the models are built whole; Spark, which has no
   DELETE on parquet tables, always builds them whole. #}

{% macro incremental_files(key_columns, deleted_by_pre_hook=false) -%}
    {{ return(adapter.dispatch('incremental_files', 'voronka')(key_columns, deleted_by_pre_hook)) }}
{%- endmacro %}

{% macro default__incremental_files(key_columns, deleted_by_pre_hook) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=key_columns,
        on_schema_change='fail',
        meta={'deleted_by_pre_hook': deleted_by_pre_hook},
    ) }}
{%- endmacro %}

{% macro spark__incremental_files(key_columns, deleted_by_pre_hook) -%}
    {{ config(materialized='table') }}
{%- endmacro %}

{# The new files' ids (a list), or none: every file. Read only while dbt executes, as the
   month boundaries are (macros/incremental.sql `boundaries`). #}
{% macro new_files() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set given = var('new_files', none) -%}
    {%- if given is none -%}
        {%- set given = fromjson(env_var('VORONKA_NEW_FILES', 'null')) -%}
    {%- endif -%}
    {{ return(given) }}
{%- endmacro %}

{# True when this run reads the new files only (an incremental run that was given them). #}
{% macro reads_new_files_only() -%}
    {{ return(is_incremental() and new_files() is not none) }}
{%- endmacro %}

{# `where`-clause text: the rows of the new files, when the run reads only those. Each
   landing part holds one file's rows, so the reader skips the other parts by their
   statistics. #}
{% macro of_new_files(file_column) -%}
    {%- if reads_new_files_only() -%}
        {%- set files = new_files() -%}
        {%- if files -%}
            {{ file_column }} in (
                {%- for file_id in files | sort -%}
                    '{{ file_id | replace("'", "''") }}'{{ ', ' if not loop.last }}
                {%- endfor -%}
            )
        {%- else -%}
            1 = 0
        {%- endif -%}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{# DuckDB's strategy: replace the rows of the keys the run produced (NULL-safe), or the
   whole table when the run read every file; only insert when the model's pre-hook deleted
   them already. #}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set built = adapter.quote(target.identifier) -%}
    {%- set added = adapter.quote(source.identifier) -%}
    {%- set deleted_by_pre_hook = config.get('meta', {}).get('deleted_by_pre_hook', false) -%}
    {%- if reads_new_files_only() and not deleted_by_pre_hook %}
    delete from {{ target }} using {{ source }}
    where
    {%- for key in arg_dict['unique_key'] %}
        {{ built }}.{{ key }} is not distinct from {{ added }}.{{ key }}{{ ' and' if not loop.last }}
    {%- endfor %};
    {%- elif not reads_new_files_only() %}
    delete from {{ target }};
    {%- endif %}
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}


{# int_stage_entries_inferred's pre-hook: on a run that reads the new files only, delete the
   built entries of each deal with a new sighting from its first new sighting on (the run
   writes them again). #}
{% macro delete_sightings_from_first_new() -%}
    {%- if reads_new_files_only() -%}
        {%- set built = adapter.quote(this.identifier) -%}
        delete from {{ this }}
        using ({{ first_new_sightings() }}) as first_new
        where
            {{ built }}.source = first_new.source
            and {{ built }}.deal_id = first_new.deal_id
            and {{ sighting_order(built ~ '.sighted_at') }} >= first_new.first_new_at
    {%- endif -%}
{%- endmacro %}

{# Each deal with a sighting in the new files, and the place of its first one there. #}
{% macro first_new_sightings() -%}
    select
        source,
        deal_id,
        min({{ sighting_order('snapshot_at') }}) as first_new_at
    from {{ ref('stg_landing__crm_deal_snapshots') }}
    where {{ of_new_files('file_id') }}
    group by source, deal_id
{%- endmacro %}

{# A sighting's place in a deal's order: its snapshot time, a NULL one last (as a window
   ordered by snapshot_at sorts it). #}
{% macro sighting_order(snapshot_column) -%}
    coalesce({{ snapshot_column }}, cast('9999-12-31' as {{ dbt.type_timestamp() }}))
{%- endmacro %}


{# Without a new CRM file (docs/analyst-guide.md "Incremental builds").

   The models built from CRM data and config alone (tag crm_and_config) hold what the
   previous build wrote when no CRM file is new: the pipeline then leaves them out of
   dbt's run (pipeline/incremental.py RebuildPlan.left_out). It passes
   VORONKA_CRM_UNCHANGED (JSON true when every new file since the previous build is a call
   log; a var `crm_unchanged` wins; unset or null: false) for the models that read those
   tables and recompute less without a new CRM file (macros/lost_months.sql). #}

{# True when no CRM file is new since the previous build (VORONKA_CRM_UNCHANGED). #}
{% macro crm_unchanged() -%}
    {{ return(boundaries('crm_unchanged') is sameas true) }}
{%- endmacro %}

{# True in an incremental run with no new CRM file: the tables of CRM data alone are as
   the previous build left them. #}
{% macro crm_kept() -%}
    {{ return(is_incremental() and crm_unchanged()) }}
{%- endmacro %}
