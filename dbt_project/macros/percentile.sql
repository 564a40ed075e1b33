{# Continuous percentile (linear interpolation between the two nearest ranks) of expr as an
   aggregate; fraction in [0, 1]. NULL when the group has no non-null value. #}
{% macro percentile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'voronka')(expr, fraction)) }}
{%- endmacro %}

{# Spark's exact percentile interpolates linearly, as percentile_cont does. #}
{% macro default__percentile_cont(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}

{% macro duckdb__percentile_cont(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}

{% macro postgres__percentile_cont(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}
