{# A struct of named fields, as one value that orders field by field: max() over it picks
   a whole row by several keys at once (record_field reads a field back).
   fields: a list of [name, expression] pairs, in the order they compare. #}
{% macro record(fields) -%}
    {{ return(adapter.dispatch('record', 'voronka')(fields)) }}
{%- endmacro %}

{% macro default__record(fields) -%}
    named_struct(
    {%- for name, expression in fields %}
        '{{ name }}', {{ expression }}{{ ',' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}

{% macro duckdb__record(fields) -%}
    struct_pack(
    {%- for name, expression in fields %}
        {{ name }} := {{ expression }}{{ ',' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}

{# One field of a record. #}
{% macro record_field(value, name) -%}
    {{ return(adapter.dispatch('record_field', 'voronka')(value, name)) }}
{%- endmacro %}

{% macro default__record_field(value, name) -%}
    {{ value }}.{{ name }}
{%- endmacro %}

{% macro duckdb__record_field(value, name) -%}
    struct_extract({{ value }}, '{{ name }}')
{%- endmacro %}
