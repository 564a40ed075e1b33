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


{# The first day of the business-time-zone month of a UTC timestamp, as a date. #}
{% macro local_month(column) -%}
    cast({{ dbt.date_trunc('month', to_local(column)) }} as date)
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
