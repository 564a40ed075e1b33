{# The forecast's deal periods (int_forecast_deal_periods), incremental
   (docs/analyst-guide.md "Incremental builds").

   Every run moves the cutoff, and with it every `cutoff` row: those are rebuilt whole. A
   `month_start` row of month M reads only what was known by M's end about deals that
   were known by then. A deal the run can change (its stage spans, its row, its exports)
   has its cohort month from the entity boundary on (rebuild_from), and a deal is known
   at the earliest at its anchor, the first instant of its cohort month: its rows lie in
   the month before its cohort (a deal first known at that instant is new in the window
   that ends there) and later. So a run recomputes the `month_start` rows from the month
   before the boundary on (forecast_periods_from), keeps the older ones, and deletes the
   months the forecast no longer reads (the cutoff's move drops the oldest).

   DuckDB: the strategy `replace_forecast_periods` (below). Spark: a table, built whole. #}

{% macro incremental_forecast_periods() -%}
    {{ incremental_by_strategy('replace_forecast_periods') }}
{%- endmacro %}

{# The first `month_start` month a run recomputes, for the funnel in `funnel_column`. #}
{% macro forecast_periods_from(funnel_column) -%}
    cast({{ dbt.dateadd('month', '-1', rebuild_from(funnel_column)) }} as date)
{%- endmacro %}

{# The first month whose `month_start` rows the forecast reads, for a funnel planning over
   `plan_months_column` months: the backtest's months and the months their history looks
   back over, before the month of `forecast_month_column`. The model's landmarks and this
   strategy's delete both take it. #}
{% macro forecast_periods_first_month(plan_months_column, forecast_month_column) -%}
    {%- set looked_back = 'greatest(' ~ var('forecast_history_months') ~ ', ' ~ plan_months_column ~ ') + '
        ~ var('forecast_backtest_months') -%}
    cast({{ dbt.dateadd('month', '-(' ~ looked_back ~ ')', forecast_month_column) }} as date)
{%- endmacro %}

{# The rows a run writes: every `cutoff` row, the `month_start` rows from the month before
   the boundary on. The strategy deletes them (with the months no longer read) before it
   inserts the run's; the grain test checks only them (tests/generic/unique_combination.sql,
   `recomputed: {forecast_periods: true}`): a kept row was checked by the build that wrote
   it, and shares no key with a written one. #}
{% macro forecast_periods_written() -%}
    (moment_kind = 'cutoff' or month >= {{ forecast_periods_from('funnel_id') }})
{%- endmacro %}

{# DuckDB's strategy: delete the rows the run writes and those of months the forecast no
   longer reads; insert the run's rows. #}
{% macro get_incremental_replace_forecast_periods_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set forecast_month = 'cast(' ~ dbt.date_trunc('month', 'cutoff.cutoff_local') ~ ' as date)' -%}
    delete from {{ target }}
    where
        {{ forecast_periods_written() }}
        or month < (
            select {{ forecast_periods_first_month('funnels.plan_months', forecast_month) }}
            from {{ ref('int_data_cutoff') }} as cutoff
            cross join {{ ref('stg_landing__config_funnels') }} as funnels
            where funnels.funnel_id = {{ target }}.funnel_id
        );
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
