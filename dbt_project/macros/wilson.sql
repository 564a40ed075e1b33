{# Wilson score interval at 95 % for k successes out of n; NULL when n = 0. Every literal is
   a double, so Spark computes in floating point as DuckDB does (not in DECIMAL). The closed
   form is exactly 0 at k = 0 (low) and 1 at k = n (high), but in floating point it lands a
   hair off (4.9e-17, 0.9999999999999999) and the interval then misses its own rate: those
   two ends are written exactly. #}
{% macro wilson_bound(k, n, side) -%}
    {%- set z = double_literal(1.959963984540054) -%}
    {%- set z_squared = double_literal(1.959963984540054 * 1.959963984540054) -%}
    {%- set rate = ratio(k, n) -%}
    {%- set sign = '-' if side == 'low' else '+' -%}
    case
        {% if side == 'low' -%}
        when {{ n }} > 0 and {{ k }} = 0 then {{ double_literal(0) }}
        {% else -%}
        when {{ n }} > 0 and {{ k }} = {{ n }} then {{ double_literal(1) }}
        {% endif -%}
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
