-- A manager (or any segment) with no activity in a month still has that month's rows:
-- every segment of a funnel spans the funnel's whole month spine, in both views.
with

monthly as (
    select * from {{ ref('funnel_stage_monthly') }}
),

spine as (
    select
        funnel_id,
        count(*) as months
    from {{ ref('int_months_spined') }}
    group by funnel_id
),

per_segment as (
    select
        funnel_id,
        view,
        segment_type,
        segment,
        count(distinct month) as months
    from monthly
    group by funnel_id, view, segment_type, segment
)

select per_segment.*
from per_segment
inner join spine
    on per_segment.funnel_id = spine.funnel_id
where per_segment.months != spine.months
