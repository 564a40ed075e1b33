{# Wilson score interval at 95 % for k successes out of n; NULL when n = 0. #}
{% macro wilson_bound(k, n, side) -%}
    {%- set z = 1.959963984540054 -%}
    {%- set sign = '-' if side == 'low' else '+' -%}
    case
        when {{ n }} > 0 then greatest(0.0, least(1.0,
            (
                ({{ k }} * 1.0 / {{ n }}) + {{ z * z }} / (2.0 * {{ n }})
                {{ sign }} {{ z }} * sqrt(
                    ({{ k }} * 1.0 / {{ n }}) * (1 - {{ k }} * 1.0 / {{ n }}) / {{ n }}
                    + {{ z * z }} / (4.0 * {{ n }} * {{ n }})
                )
            ) / (1 + {{ z * z }} / {{ n }})
        ))
    end
{%- endmacro %}
