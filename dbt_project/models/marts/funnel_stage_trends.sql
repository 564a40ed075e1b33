-- Month-over-month and year-over-year change of every step conversion, per view and
-- segment; the report reads the last 12 rows for its sparklines.
with

monthly as (
    select * from {{ ref('funnel_stage_monthly') }}
),

with_history as (
    select
        funnel_id,
        month,
        view,
        segment_type,
        segment,
        stage_order,
        stage_key,
        is_mature,
        entities,
        conversion_to_next,
        lag(conversion_to_next, 1) over (
            partition by funnel_id, view, segment_type, segment, stage_order
            order by month
        ) as previous_month_conversion,
        lag(conversion_to_next, 12) over (
            partition by funnel_id, view, segment_type, segment, stage_order
            order by month
        ) as last_year_conversion,
        lag(entities, 1) over (
            partition by funnel_id, view, segment_type, segment, stage_order
            order by month
        ) as previous_month_entities,
        lag(entities, 12) over (
            partition by funnel_id, view, segment_type, segment, stage_order
            order by month
        ) as last_year_entities
    from monthly
),

final as (
    select
        *,
        conversion_to_next - previous_month_conversion as change_vs_previous_month,
        conversion_to_next - last_year_conversion as change_vs_last_year
    from with_history
)

select * from final
