{# The standard normal distribution without engine-only functions (DuckDB and Spark have
   no common erf/normal CDF). erfc(x) for x >= 0 by the Chebyshev fit of Numerical Recipes
   (Press et al., 2nd ed., §6.2, erfcc): fractional error below 1.2e-7 everywhere, so even a
   p-value of 1e-12 is right to seven digits (a fit with an absolute error, such as
   Abramowitz-Stegun 7.1.26's 1.5e-7, would say nothing about values that small). Horner
   form; every literal is a double (Spark would compute DECIMAL literals in DECIMAL). #}
{% macro erfc_nonnegative(x) -%}
    {%- set t = '(' ~ double_literal(1) ~ ' / (' ~ double_literal(1) ~ ' + ' ~ double_literal(0.5) ~ ' * (' ~ x ~ ')))' -%}
    {%- set coefficients = [
        -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
        0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277
    ] -%}
    {%- set ns = namespace(poly=double_literal(coefficients[-1])) -%}
    {%- for coefficient in coefficients[:-1] | reverse -%}
        {%- set ns.poly = double_literal(coefficient) ~ ' + ' ~ t ~ ' * (' ~ ns.poly ~ ')' -%}
    {%- endfor -%}
    {{ t }} * exp(-({{ x }}) * ({{ x }}) + {{ ns.poly }})
{%- endmacro %}


{# Two-sided p-value of a standard normal statistic z: P(|Z| >= |z|) = erfc(|z| / sqrt(2)).
   NULL when z is NULL (least() skips NULLs on DuckDB and Spark, so it is said here). #}
{% macro two_sided_p_value(z) -%}
    case
        when ({{ z }}) is not null
            then least({{ double_literal(1) }}, {{ erfc_nonnegative('abs(' ~ z ~ ') / sqrt(' ~ double_literal(2) ~ ')') }})
    end
{%- endmacro %}


{# Standard normal CDF, Phi(x) = erfc(-x / sqrt(2)) / 2, with the same accuracy. #}
{% macro normal_cdf(x) -%}
    case
        when ({{ x }}) >= 0
            then {{ double_literal(1) }} - {{ double_literal(0.5) }} * {{ erfc_nonnegative('(' ~ x ~ ') / sqrt(' ~ double_literal(2) ~ ')') }}
        else {{ double_literal(0.5) }} * {{ erfc_nonnegative('-(' ~ x ~ ') / sqrt(' ~ double_literal(2) ~ ')') }}
    end
{%- endmacro %}
