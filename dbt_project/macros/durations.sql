{# Days from one UTC timestamp to another, with the fraction of a day (seconds / 86400):
   whole-day differences would count 23:59 → 00:01 as a day. #}
{% macro days_between(start_column, end_column) -%}
    cast({{ dbt.datediff(start_column, end_column, 'second') }} as {{ type_double() }}) / 86400
{%- endmacro %}
