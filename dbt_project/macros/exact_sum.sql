{# A sum of floats that is the same on every run. A float sum's last bits depend on the
   order the engine adds in, which parallel aggregation does not fix, and reruns must give
   bit-identical marts. Each term is rounded to `scale` decimals as a DECIMAL(38, scale),
   the terms are added exactly, and the total is a float again. The default scale (18)
   keeps every bit of a probability-sized term and totals below 1e20 (counts of deals);
   money uses 6 (totals below 1e32, squared amounts included). `over`: a window clause. #}
{% macro exact_sum(expression, over='', scale=18) -%}
    cast(
        sum(cast(round({{ expression }}, {{ scale }}) as decimal(38, {{ scale }}))) {{ over }}
        as {{ type_double() }}
    )
{%- endmacro %}
