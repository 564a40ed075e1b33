-- How many entities went on from each stage to the next, and in how many days, per
-- funnel, month of reaching the stage and segment: stage_durations' conversions
-- (docs/contracts.md "Every deal counts"). A converter reached the next stage at or after
-- this one (always so under `implied` and `strict`; under `any` an earlier touch of the
-- next stage is no conversion from this). Durations use recorded, exact reach times only:
-- a stage known only from a snapshot, or reached only by implication (skipped), counts as
-- converted but adds no duration.
-- Grain: one row per funnel, month, segment and stage with a converter (funnel_id, month,
-- segment_type, segment, stage_order).
-- Incremental by the month of reaching (macros/incremental.sql), from the cohort boundary:
-- an entity reaches every stage at or after its anchor, so an entity of a recomputed cohort
-- reaches its stages in recomputed months only, and an older month keeps the reaches it
-- was built with. A run reads the reaches of recomputed months only: a reach whose next
-- stage was reached before the boundary converts in neither reading (the next reach is
-- earlier than it, or, with that reach left out, the next row read is a later stage).
{{ incremental_months('month', 'rebuild_from', 'funnel_id') }}

with

stages as (
    select * from {{ ref('stg_landing__config_stages') }}
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
    where
        reached_at is not null
        and {{ from_local_boundary('reached_at', 'rebuild_from', 'funnel_id') }}
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

-- Only the converters go on to the segment join: a row that did not convert adds 0 to
-- both counts and no duration (stage_durations fills the zeros).
transitions as (
    select
        reached_with_next.funnel_id,
        reached_with_next.entity_id,
        reached_with_next.stage_order,
        {{ local_month('reached_with_next.reached_at') }} as month,
        case when reached_with_next.is_timed and reached_with_next.next_is_timed then 1 else 0 end as is_timed,
        case
            when reached_with_next.is_timed and reached_with_next.next_is_timed
                then {{ days_between('reached_with_next.reached_at', 'reached_with_next.next_reached_at') }}
        end as days_to_next
    from reached_with_next
    inner join next_stages
        on
            reached_with_next.funnel_id = next_stages.funnel_id
            and reached_with_next.stage_order = next_stages.stage_order
    where
        reached_with_next.next_reached_order = next_stages.next_stage_order
        and reached_with_next.next_reached_at >= reached_with_next.reached_at
),

final as (
    select
        transitions.funnel_id,
        transitions.month,
        segments.segment_type,
        segments.segment,
        cast(transitions.stage_order as {{ dbt.type_int() }}) as stage_order,
        cast(count(*) as {{ dbt.type_bigint() }}) as converted,
        cast(sum(transitions.is_timed) as {{ dbt.type_bigint() }}) as converted_timed,
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
)

select * from final
order by month
