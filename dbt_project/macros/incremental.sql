{# Incremental months (docs/analyst-guide.md "Incremental builds").

   The heavy models are incremental on a month column: a run recomputes every month from
   a boundary on and replaces those months, keeping the older ones. The pipeline
   (pipeline/incremental.py) picks the boundaries, per funnel, from what changed since the
   previous build and passes them as vars:
     rebuild_from        first cohort month (local) of the entity models
     marts_rebuild_from  first month (local) of the monthly mart that reads the cutoff
                         (funnel_stage_monthly): rebuild_from, or the first cohort month
                         whose maturity the cutoff's move changes, if earlier
     calls_rebuild_from  first call month (UTC) of the per-call models (dedupe, rules,
                         missed-call callbacks): the month of the earliest call in a new
                         file (a copy of a built call included: the month's copies are
                         ranked again) less the callback window and a day (it may call
                         back a missed call before it), or of the previous cutoff less
                         the same if earlier
     links_rebuild_from  first call month (UTC) of call → deal links and call-lead
                         episodes, per funnel: the month of the first new call or history
                         entry, or of a changed deal's creation less the link days; an
                         episode carries on from the phone's last call before it
   The pipeline passes them as environment variables (VORONKA_REBUILD_FROM,
   VORONKA_MARTS_REBUILD_FROM, VORONKA_CALLS_REBUILD_FROM, VORONKA_LINKS_REBUILD_FROM;
   JSON), not --vars: dbt re-parses the whole project when a var changes. They are read
   only while dbt executes (`boundaries`, below): a file that reads an environment
   variable while dbt parses it is parsed again whenever the variable changes, and the
   boundaries change on nearly every build. So a model names its boundary
   (`incremental_months('cohort_month', 'rebuild_from', 'funnel_id')`) and the strategy
   renders it when it runs. A var of the same name wins (unit tests, a hand-run
   `dbt build --vars`). Without either every month is recomputed: slow, never wrong.
   On a first build or with --full-refresh the models are built whole.

   Each incremental model's rows are written in the order of its month column (`order by`
   last): the months a run deletes are then whole row groups at the table's end. Scattered
   over every row group, DuckDB's checkpoint after the delete rewrote the whole table
   (int_stage_entries_unioned at full scale: 1.9 CPU s against 0.24 s clustered).

   The strategy is chosen by adapter: DuckDB deletes the months from the boundary on and
   inserts the new rows (`replace_months`, below: unlike delete+insert it also empties a
   month that has no rows left); Spark has no DELETE on parquet tables, so it partitions
   by the month and overwrites the partitions the run produced (insert_overwrite). #}

{# A model incremental on `month_column`, from the boundary named `boundary` (rebuild_from,
   marts_rebuild_from, calls_rebuild_from, links_rebuild_from) of the row's funnel in
   `funnel_column` (none: the earliest of all funnels'). #}
{% macro incremental_months(month_column, boundary, funnel_column=none) -%}
    {{ return(adapter.dispatch('incremental_months', 'voronka')(month_column, boundary, funnel_column)) }}
{%- endmacro %}

{% macro default__incremental_months(month_column, boundary, funnel_column) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='replace_months',
        unique_key=month_column,
        replace_from={'boundary': boundary, 'funnel_column': funnel_column},
        on_schema_change='fail',
    ) }}
{%- endmacro %}

{% macro spark__incremental_months(month_column, boundary, funnel_column) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by=[month_column],
        on_schema_change='fail',
    ) }}
{%- endmacro %}


{# A model incremental by a strategy of its own (replace_forecast_periods,
   replace_lost_months): DuckDB runs the strategy; Spark, which
   has no DELETE on parquet tables, builds the table whole. #}
{% macro incremental_by_strategy(strategy) -%}
    {{ return(adapter.dispatch('incremental_by_strategy', 'voronka')(strategy)) }}
{%- endmacro %}

{% macro default__incremental_by_strategy(strategy) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy=strategy,
        on_schema_change='fail',
    ) }}
{%- endmacro %}

{% macro spark__incremental_by_strategy(strategy) -%}
    {{ config(materialized='table') }}
{%- endmacro %}


{# The boundaries of one kind (rebuild_from, calls_rebuild_from, links_rebuild_from), or
   another setting of the plan passed the same way (crm_unchanged, build_fingerprint):
   the var of that name if given, else the environment variable VORONKA_<NAME> (JSON;
   unset or null: none, every month). None while dbt parses: nothing that is parsed
   depends on them. #}
{% macro boundaries(name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set given = var(name, none) -%}
    {%- if given is none -%}
        {%- set given = fromjson(env_var('VORONKA_' ~ name | upper, 'null')) -%}
    {%- endif -%}
    {{ return(given) }}
{%- endmacro %}

{# The boundary of the entity models: the first cohort month a run recomputes, per funnel.
   rebuild_from is {funnel_id: 'YYYY-MM-DD'} (or one date for every funnel). Given the
   column holding the funnel id, the boundary of the row's funnel (a funnel it does not
   name: all months); without a column, the earliest boundary of all funnels. #}
{% macro rebuild_from(funnel_column=none) -%}
    {{ month_boundary(boundaries('rebuild_from'), funnel_column) }}
{%- endmacro %}

{# The boundary of the monthly mart that reads the cutoff (funnel_stage_monthly), per
   funnel: rebuild_from's, or earlier. Without marts_rebuild_from, rebuild_from's (a hand
   run given only that var). #}
{% macro marts_rebuild_from(funnel_column=none) -%}
    {%- set given = boundaries('marts_rebuild_from') -%}
    {{ month_boundary(boundaries('rebuild_from') if given is none else given, funnel_column) }}
{%- endmacro %}

{# The boundary of the per-call models: the first UTC call month a run recomputes. #}
{% macro calls_rebuild_from() -%}
    {{ month_boundary(boundaries('calls_rebuild_from'), none) }}
{%- endmacro %}

{# The boundary of call → deal links and call-lead episodes: per funnel, a UTC call month. #}
{% macro links_rebuild_from(funnel_column=none) -%}
    {{ month_boundary(boundaries('links_rebuild_from'), funnel_column) }}
{%- endmacro %}

{# The boundary named `name` (one of the four above), as SQL text. #}
{% macro named_boundary(name, funnel_column=none) -%}
    {%- if name == 'marts_rebuild_from' -%}
        {{ marts_rebuild_from(funnel_column) }}
    {%- else -%}
        {{ month_boundary(boundaries(name), funnel_column) }}
    {%- endif -%}
{%- endmacro %}

{% macro month_boundary(boundaries, funnel_column) -%}
    {%- set everything = "cast('1900-01-01' as date)" -%}
    {%- if boundaries is none or boundaries == {} -%}
        {{ everything }}
    {%- elif boundaries is string -%}
        cast('{{ boundaries }}' as date)
    {%- elif funnel_column is none -%}
        cast('{{ boundaries.values() | min }}' as date)
    {%- else -%}
        case {{ funnel_column }}
        {%- for funnel_id, month in boundaries.items() | sort %}
            when '{{ funnel_id }}' then cast('{{ month }}' as date)
        {%- endfor %}
            else {{ everything }}
        end
    {%- endif -%}
{%- endmacro %}

{# `where`-clause text: rows of months from the boundary on, on incremental runs only. #}
{% macro from_boundary(month_expression, boundary) -%}
    {%- if is_incremental() -%}
        {{ month_expression }} >= {{ boundary }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}


{# `where`-clause text: rows whose local month (of the UTC time in `column`) is from the
   boundary named `boundary` of the row's funnel (`funnel_column`) on, on incremental runs
   only. A local month starts at most 16 hours before the same UTC wall time (no zone is
   further from UTC: local_month), so the first comparison, of the UTC time with the
   earliest funnel's boundary, follows from the second: it spares the month's computation
   on older rows. #}
{% macro from_local_boundary(column, boundary, funnel_column) -%}
    {%- if is_incremental() -%}
        {{ column }} >= {{ dbt.dateadd('hour', '-16', named_boundary(boundary)) }}
        and {{ local_month(column) }} >= {{ named_boundary(boundary, funnel_column) }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{# DuckDB's strategy: replace every month from the boundary on with the run's rows. #}
{% macro get_incremental_replace_months_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set replace_from = config.get('replace_from') -%}
    delete from {{ target }}
    where {{ arg_dict['unique_key'] }} >= {{ named_boundary(replace_from.boundary, replace_from.funnel_column) }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}


{# The first day of a month-partitioned landing row's month folder (`YYYY-MM`, the UTC
   month of its time column, pipeline/io.py; NULL for the NULL partition), as a date. A
   filter on it is a filter on the partition column, so a reader opens only the months it
   keeps, also through a view (stg_landing__calls' call_month).
   DuckDB prunes a hive folder only by a filter it can evaluate on the folder's value
   without an error: a `cast`, which may fail, is left to a filter over every file's rows
   (a month of calls at full scale read all 10 M calls: 2.5 s against 0.5 s for
   int_calls_missed_classified). Its `try_cast` never fails, and the folder names are
   the pipeline's own, so it gives the same dates. #}
{% macro partition_month(column) -%}
    {{ return(adapter.dispatch('partition_month', 'voronka')(column)) }}
{%- endmacro %}

{% macro default__partition_month(column) -%}
    cast({{ dbt.concat([column, "'-01'"]) }} as date)
{%- endmacro %}

{% macro duckdb__partition_month(column) -%}
    try_cast({{ dbt.concat([column, "'-01'"]) }} as date)
{%- endmacro %}
