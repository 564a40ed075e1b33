{# A sum of floats that is the same on every run: each term rounded to 1e-9 as a
   DECIMAL(38, 9), added exactly, and the total back to a float. A float sum's last bits
   depend on the order the engine adds in, which parallel aggregation does not fix, and
   reruns must give bit-identical marts. `over`: a window clause, for a window sum. #}
{% macro exact_sum(expression, over='') -%}
    cast(sum(cast({{ expression }} as decimal(38, 9))) {{ over }} as {{ type_double() }})
{%- endmacro %}
