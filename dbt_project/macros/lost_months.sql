{# lost_reasons, incremental by the months of recomputed lost deals
   (docs/analyst-guide.md "Incremental builds").

   A (funnel, month) of lost_reasons counts the funnel's lost deals closed in that local
   month (closed_by; of an export's time, the second before: happened_by), each at its
   last reached stage and in its segments. With no new CRM
   file a deal's status, close time and reason are as built, and its reached stages and
   segments change only if its entity is recomputed (cohort month from the boundary on,
   rebuild_from). So such a run recomputes the months in which a recomputed lost deal was
   closed (the NULL month too, for a lost deal with no closed_by), from every lost deal
   closed in them, and keeps the other months. A run with a new CRM file (a deal may have
   been lost, closed again or reopened) replaces the table whole.

   DuckDB: the strategy `replace_lost_months` (below). Spark: a table, built whole. #}

{% macro incremental_lost_months() -%}
    {{ incremental_by_strategy('replace_lost_months') }}
{%- endmacro %}

{# `where`-clause text: the rows of (funnel, month) pairs this run recomputes, for the
   funnel and local month expressions given (qualified: they are read inside a subquery
   over int_entities_described): every pair unless the run keeps the CRM
   tables (crm_kept), else the months in which a recomputed lost deal was closed. The
   model's select and the strategy's delete both take it. #}
{% macro lost_months_recomputed(funnel_expression, month_expression) -%}
    {%- if crm_kept() -%}
    exists (
        select 1 from {{ ref('int_entities_described') }} as recomputed
        where
            recomputed.entity_kind = 'deal'
            and recomputed.status = 'lost'
            and recomputed.cohort_month >= {{ rebuild_from('recomputed.funnel_id') }}
            and recomputed.funnel_id = {{ funnel_expression }}
            and {{ closed_month('recomputed') }} is not distinct from {{ month_expression }}
    )
    {%- else -%}
    1 = 1
    {%- endif -%}
{%- endmacro %}

{# DuckDB's strategy: delete the (funnel, month) pairs the run recomputes; insert its rows. #}
{% macro get_incremental_replace_lost_months_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }}
    where {{ lost_months_recomputed(target ~ '.funnel_id', target ~ '.month') }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
