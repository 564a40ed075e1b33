{# Within funnel_plan: the product of `column` over this stage and every later stage
   except the last (whose rate is NULL); NULL if any factor is NULL or zero. #}
{% macro _product_from_here(column) -%}
    case
        when
            sum(case when {{ column }} is null or {{ column }} <= 0 then 1 else 0 end) over (
                partition by funnel_id, planned_month, segment_type, segment
                order by stage_order desc
                rows between unbounded preceding and current row
            ) > 1
            then null
        when
            count(*) over (
                partition by funnel_id, planned_month, segment_type, segment
                order by stage_order desc
                rows between unbounded preceding and current row
            ) = 1
            then {{ double_literal(1) }}
        else
            exp(
                sum(case when {{ column }} > 0 then ln({{ column }}) else 0 end) over (
                    partition by funnel_id, planned_month, segment_type, segment
                    order by stage_order desc
                    rows between unbounded preceding and current row
                )
            )
    end
{%- endmacro %}
