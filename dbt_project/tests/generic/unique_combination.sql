{# The listed columns together identify a row (the model's grain).

   `recomputed` narrows the check of an incremental model to the months this build wrote
   (macros/incremental.sql): {column: <its month column>, boundary: rebuild_from |
   marts_rebuild_from | calls_rebuild_from | links_rebuild_from, funnel_column: <optional,
   for per-funnel boundaries>}. Older months were checked by the build that wrote them, and a grain
   check over every call of two years costs seconds at 10 M calls; a build without the
   boundary vars (the first, a full rebuild, `dbt build` by hand) checks every row.
   {forecast_periods: true}: the rows a run of int_forecast_deal_periods writes
   (macros/forecast_periods.sql). (A build with no new CRM file runs no test of the tables
   of CRM data alone: pipeline/incremental.py leaves them out with their models.) #}
{% test unique_combination(model, columns, recomputed=none) %}
select {{ columns | join(', ') }}, count(*) as copies
from {{ model }}
{%- if recomputed and recomputed.get('forecast_periods') %}
where {{ forecast_periods_written() }}
{%- elif recomputed %}
where
    {{ recomputed.column }}
    >= {{ named_boundary(recomputed.boundary, recomputed.get('funnel_column')) }}
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
