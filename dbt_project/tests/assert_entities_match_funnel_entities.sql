-- Every cohort count in funnel_stage_monthly is explained by funnel_entities rows.
with

monthly as (
    select * from {{ ref('funnel_stage_monthly') }}
    where view = 'cohort' and segment_type = 'total'
),

explained as (
    select
        funnel_id,
        cohort_month as month,
        stage_order,
        count(*) as entities
    from {{ ref('funnel_entities') }}
    where is_within_window
    group by funnel_id, cohort_month, stage_order
)

select monthly.*
from monthly
left join explained
    on
        monthly.funnel_id = explained.funnel_id
        and monthly.month = explained.month
        and monthly.stage_order = explained.stage_order
where monthly.entities != coalesce(explained.entities, 0)
