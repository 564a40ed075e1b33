-- Cohort counts per funnel, month, segment and step, summed over a trailing window of
-- `plan.months` cohort months ending at the month (one month is too few deals to judge
-- a manager). Only steps that have a next stage. A building block of manager_scorecard
-- and funnel_bottleneck, in the mart layer because it pools funnel_stage_monthly's own
-- cohort counts: the scorecard's team numbers are the monthly mart's, summed.
with

monthly as (
    select * from {{ ref('funnel_stage_monthly') }}
    where view = 'cohort' and entities_next is not null
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

windowed as (
    select
        ending.funnel_id,
        ending.month,
        ending.segment_type,
        ending.segment,
        ending.stage_order,
        ending.stage_key,
        ending.is_mature,
        funnels.plan_months as window_months,
        cast(sum(covered.entities) as {{ dbt.type_bigint() }}) as entities,
        cast(sum(covered.entities_next) as {{ dbt.type_bigint() }}) as entities_next
    from monthly as ending
    inner join funnels
        on ending.funnel_id = funnels.funnel_id
    inner join monthly as covered
        on
            ending.funnel_id = covered.funnel_id
            and ending.segment_type = covered.segment_type
            and ending.segment = covered.segment
            and ending.stage_order = covered.stage_order
            and ending.month >= covered.month
            and covered.month > {{ dbt.dateadd('month', '-funnels.plan_months', 'ending.month') }}
    group by 1, 2, 3, 4, 5, 6, 7, 8
),

final as (
    select * from windowed
)

select * from final
