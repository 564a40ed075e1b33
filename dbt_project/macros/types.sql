{# A 64-bit float. dbt.type_float() is a 32-bit REAL on DuckDB, too coarse for amounts
   and metric values; the cross-database macros have no double. #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'voronka')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}
