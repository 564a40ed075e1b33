-- The step conversions that moved most against the month before (mature cohorts only):
-- where to look first when the monthly report changes.
select
    funnel_id,
    month,
    segment_type,
    segment,
    stage_key,
    previous_month_conversion,
    conversion_to_next,
    change_vs_previous_month
from {{ ref('funnel_stage_trends') }}
where
    view = 'cohort'
    and is_mature
    and entities >= 30
    and change_vs_previous_month is not null
order by abs(change_vs_previous_month) desc
limit 20
