{# Wilson score interval at 95 % for k successes out of n; NULL when n = 0. Every literal is
   a double, so Spark computes in floating point as DuckDB does (not in DECIMAL). #}
{% macro wilson_bound(k, n, side) -%}
    {%- set z = double_literal(1.959963984540054) -%}
    {%- set z_squared = double_literal(1.959963984540054 * 1.959963984540054) -%}
    {%- set rate = ratio(k, n) -%}
    {%- set sign = '-' if side == 'low' else '+' -%}
    case
        when {{ n }} > 0 then greatest({{ double_literal(0) }}, least({{ double_literal(1) }},
            (
                {{ rate }} + {{ z_squared }} / (2 * {{ n }})
                {{ sign }} {{ z }} * sqrt(
                    {{ rate }} * (1 - {{ rate }}) / {{ n }}
                    + {{ z_squared }} / (4 * {{ n }} * {{ n }})
                )
            ) / (1 + {{ z_squared }} / {{ n }})
        ))
    end
{%- endmacro %}
