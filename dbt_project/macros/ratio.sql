{# numerator / denominator as a 64-bit float; NULL when the denominator is 0. The cast comes
   first: `k * 1.0 / n` divides DECIMALs on Spark, whose result scale may shrink to 6 digits
   (and whose type breaks the marts' `double` contracts). #}
{% macro ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}


{# A numeric literal as a 64-bit float: `1.96` is a DECIMAL on Spark and DuckDB. #}
{% macro double_literal(value) -%}
    cast({{ value }} as {{ type_double() }})
{%- endmacro %}
