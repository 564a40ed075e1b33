{# Time handling that travels: landing holds UTC instants; models work on naive UTC
   timestamps and convert to the business time zone only to cut months. #}

{% macro as_utc(column) -%}
    {{ return(adapter.dispatch('as_utc', 'voronka')(column)) }}
{%- endmacro %}

{% macro default__as_utc(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{# The instant's microseconds since the epoch as a naive timestamp: the UTC wall time, as
   timezone('UTC', …) gives it, without that function's time-zone lookup per value. #}
{% macro duckdb__as_utc(column) -%}
    make_timestamp(epoch_us({{ column }}))
{%- endmacro %}


{% macro to_local(column, zone=none) -%}
    {{ return(adapter.dispatch('to_local', 'voronka')(column, zone or var('timezone'))) }}
{%- endmacro %}

{% macro default__to_local(column, zone) -%}
    from_utc_timestamp({{ column }}, '{{ zone }}')
{%- endmacro %}

{% macro duckdb__to_local(column, zone) -%}
    timezone('{{ zone }}', timezone('UTC', {{ column }}))
{%- endmacro %}


{# The instant whose local month counts an event known to have happened by `column` (an
   export's time: the upper bound of an entry known by its bounds, a close no file dated),
   unless `is_exact`: the second before it. Such an event happened before the export,
   so what an export taken at 00:00 on the 1st first shows counts in the month that ended
   then; an exact time counts in its own month (docs/contracts.md "Every deal counts"). #}
{% macro happened_by(column, is_exact) -%}
    case when {{ is_exact }} then {{ column }} else {{ dbt.dateadd('second', '-1', column) }} end
{%- endmacro %}


{# The local month a closed entity of int_entities_described closed in (`relation.` before
   its columns when given): of closed_by, exact or an export's time (happened_by). What
   revenue_monthly and lost_reasons count by, and lost_months recomputes. #}
{% macro closed_month(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {{ local_month(happened_by(prefix ~ 'closed_by', prefix ~ 'is_closed_exactly')) }}
{%- endmacro %}


{# The first day of the business-time-zone month (or `zone`'s) of a UTC timestamp, as a date.
   No zone is or was further than 16 hours from UTC (the tz database's widest offsets, local
   mean times before 1900, stay within 15 h 57 min), so an instant in the same UTC month 16
   hours before and after is in that month in every zone: only the instants within 16 hours
   of a month's turn are converted. (DuckDB's zone conversion costs ~0.3 µs a value, the
   truncations a tenth of that: at ten million calls, seconds.) #}
{% macro local_month(column, zone=none) -%}
    {%- set earliest = dbt.date_trunc('month', dbt.dateadd('hour', '-16', column)) -%}
    {%- set latest = dbt.date_trunc('month', dbt.dateadd('hour', '16', column)) -%}
    cast(
        case
            when {{ earliest }} = {{ latest }} then {{ earliest }}
            else {{ dbt.date_trunc('month', to_local(column, zone)) }}
        end
        as date
    )
{%- endmacro %}


{# The business-time-zone calendar date of a UTC timestamp. #}
{% macro local_date(column) -%}
    cast({{ to_local(column) }} as date)
{%- endmacro %}


{# The UTC instant of a wall time in the business time zone (naive in, naive UTC out):
   the inverse of to_local, e.g. the instant a local month starts. #}
{% macro from_local(column, zone=none) -%}
    {{ return(adapter.dispatch('from_local', 'voronka')(column, zone or var('timezone'))) }}
{%- endmacro %}

{% macro default__from_local(column, zone) -%}
    to_utc_timestamp({{ column }}, '{{ zone }}')
{%- endmacro %}

{% macro duckdb__from_local(column, zone) -%}
    timezone('UTC', timezone('{{ zone }}', {{ column }}))
{%- endmacro %}
