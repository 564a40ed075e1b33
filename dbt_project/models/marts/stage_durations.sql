-- How long entities take from each stage to the next, and how long open deals have been
-- waiting at the stage they got furthest to, per funnel, month of reaching and segment.
-- Durations use recorded, exact reach times only (docs/contracts.md "Every deal counts"): a stage
-- known only from a snapshot, or reached only by implication (skipped), counts as
-- converted but adds no duration; converted_timed and open_deals_timed say how many
-- deals the figures rest on.
-- The reaches and the segments are read by several CTEs, each scanning the table itself:
-- a CTE read more than once is materialized whole (4.1 M reaches and 7.3 M segment rows
-- at 10 M calls), and the open deals' readers scan only the rows of their few entities.
with

entities as (
    select * from {{ ref('int_entities_described') }}
),

segment_months as (
    select * from {{ ref('int_segment_months_spined') }}
),

stages as (
    select * from {{ ref('stg_landing__config_stages') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

-- The next stage of each funnel stage. int_entity_stages_reached holds the reached
-- stages of each entity: a reached row whose next reached row is not the next stage had
-- the next stage unreached.
next_stages as (
    select
        funnel_id,
        stage_order,
        lead(stage_order) over (partition by funnel_id order by stage_order) as next_stage_order
    from stages
),

reached_rows as (
    select
        funnel_id,
        entity_id,
        stage_order,
        reached_at,
        is_exact and not is_implied as is_timed
    from {{ ref('int_entity_stages_reached') }}
    where reached_at is not null
),

reached_with_next as (
    select
        funnel_id,
        entity_id,
        stage_order,
        reached_at,
        is_timed,
        lead(stage_order) over (
            partition by funnel_id, entity_id
            order by stage_order
        ) as next_reached_order,
        lead(reached_at) over (
            partition by funnel_id, entity_id
            order by stage_order
        ) as next_reached_at,
        lead(is_timed) over (
            partition by funnel_id, entity_id
            order by stage_order
        ) as next_is_timed
    from reached_rows
),

reach_with_next as (
    select
        reached_with_next.funnel_id,
        reached_with_next.entity_id,
        reached_with_next.stage_order,
        reached_with_next.reached_at,
        reached_with_next.is_timed,
        case
            when reached_with_next.next_reached_order = next_stages.next_stage_order
                then reached_with_next.next_reached_at
        end as next_reached_at,
        case
            when reached_with_next.next_reached_order = next_stages.next_stage_order
                then reached_with_next.next_is_timed
        end as next_is_timed
    from reached_with_next
    inner join next_stages
        on
            reached_with_next.funnel_id = next_stages.funnel_id
            and reached_with_next.stage_order = next_stages.stage_order
),

-- A converter reached the next stage at or after this one (always so under `implied`
-- and `strict`; under `any` an earlier touch of the next stage is no conversion from this).
-- Only the converters go on to the segment join: a row that did not convert adds 0 to
-- both counts and no duration, and a group it alone would make is 0 in `final` anyway
-- (the grid's coalesce), so leaving it out changes no figure and halves the join.
transitions as (
    select
        funnel_id,
        entity_id,
        stage_order,
        {{ local_month('reached_at') }} as month,
        case when is_timed and next_is_timed then 1 else 0 end as is_timed,
        case
            when is_timed and next_is_timed
                then {{ days_between('reached_at', 'next_reached_at') }}
        end as days_to_next
    from reach_with_next
    where next_reached_at >= reached_at
),

transition_stats as (
    select
        transitions.funnel_id,
        transitions.month,
        segments.segment_type,
        segments.segment,
        transitions.stage_order,
        count(*) as converted,
        sum(transitions.is_timed) as converted_timed,
        {{ percentile_cont('transitions.days_to_next', 0.5) }} as median_days,
        {{ percentile_cont('transitions.days_to_next', 0.8) }} as p80_days
    from transitions
    inner join {{ ref('int_entity_segments') }} as segments
        on
            transitions.funnel_id = segments.funnel_id
            and transitions.entity_id = segments.entity_id
    group by
        transitions.funnel_id,
        transitions.month,
        segments.segment_type,
        segments.segment,
        transitions.stage_order
),

open_deals as (
    select * from entities
    where entity_kind = 'deal' and status not in ('won', 'lost')
),

furthest_orders as (
    select
        reached.funnel_id,
        reached.entity_id,
        max(reached.stage_order) as stage_order
    from {{ ref('int_entity_stages_reached') }} as reached
    inner join open_deals
        on
            reached.funnel_id = open_deals.funnel_id
            and reached.entity_id = open_deals.entity_id
    where reached.reached_at is not null
    group by reached.funnel_id, reached.entity_id
),

open_ages as (
    select
        reached.funnel_id,
        reached.entity_id,
        reached.stage_order,
        {{ local_month('reached.reached_at') }} as month,
        reached.is_exact,
        case when reached.is_exact then {{ days_between('reached.reached_at', 'cutoff.cutoff_at') }} end as age_days
    from furthest_orders
    inner join {{ ref('int_entity_stages_reached') }} as reached
        on
            furthest_orders.funnel_id = reached.funnel_id
            and furthest_orders.entity_id = reached.entity_id
            and furthest_orders.stage_order = reached.stage_order
    cross join cutoff
),

open_stats as (
    select
        open_ages.funnel_id,
        open_ages.month,
        segments.segment_type,
        segments.segment,
        open_ages.stage_order,
        count(*) as open_deals,
        sum(case when open_ages.is_exact then 1 else 0 end) as open_deals_timed,
        {{ percentile_cont('open_ages.age_days', 0.5) }} as open_median_age_days
    from open_ages
    inner join {{ ref('int_entity_segments') }} as segments
        on
            open_ages.funnel_id = segments.funnel_id
            and open_ages.entity_id = segments.entity_id
    group by
        open_ages.funnel_id,
        open_ages.month,
        segments.segment_type,
        segments.segment,
        open_ages.stage_order
),

stage_counts as (
    select
        funnel_id,
        max(stage_order) as last_stage_order
    from stages
    group by funnel_id
),

grid as (
    select
        segment_months.funnel_id,
        segment_months.month,
        segment_months.segment_type,
        segment_months.segment,
        stages.stage_order,
        stages.stage_key,
        stages.stage_order = stage_counts.last_stage_order as is_last_stage
    from segment_months
    inner join stages
        on segment_months.funnel_id = stages.funnel_id
    inner join stage_counts
        on segment_months.funnel_id = stage_counts.funnel_id
),

final as (
    select
        grid.funnel_id,
        grid.month,
        grid.segment_type,
        grid.segment,
        cast(grid.stage_order as {{ dbt.type_int() }}) as stage_order,
        grid.stage_key,
        cast(
            case when not grid.is_last_stage then coalesce(transition_stats.converted, 0) end
            as {{ dbt.type_bigint() }}
        ) as converted,
        cast(
            case when not grid.is_last_stage then coalesce(transition_stats.converted_timed, 0) end
            as {{ dbt.type_bigint() }}
        ) as converted_timed,
        transition_stats.median_days,
        transition_stats.p80_days,
        cast(coalesce(open_stats.open_deals, 0) as {{ dbt.type_bigint() }}) as open_deals,
        cast(coalesce(open_stats.open_deals_timed, 0) as {{ dbt.type_bigint() }}) as open_deals_timed,
        open_stats.open_median_age_days
    from grid
    left join transition_stats
        on
            grid.funnel_id = transition_stats.funnel_id
            and grid.month = transition_stats.month
            and grid.segment_type = transition_stats.segment_type
            and grid.segment = transition_stats.segment
            and grid.stage_order = transition_stats.stage_order
    left join open_stats
        on
            grid.funnel_id = open_stats.funnel_id
            and grid.month = open_stats.month
            and grid.segment_type = open_stats.segment_type
            and grid.segment = open_stats.segment
            and grid.stage_order = open_stats.stage_order
)

select * from final
