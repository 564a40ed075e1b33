-- How long entities take from each stage to the next, and how long open deals have been
-- waiting at the stage they got furthest to, per funnel, month of reaching and segment.
-- Durations use recorded, exact reach times only (docs/contracts.md "Every deal counts"): a stage
-- known only from a snapshot, or reached only by implication (skipped), counts as
-- converted but adds no duration; converted_timed and open_deals_timed say how many
-- deals the figures rest on. The conversions come counted per month
-- (int_stage_transitions_counted, incremental by month); the open deals' ages move with
-- the cutoff, so this table is built whole.
-- The reaches and the segments are read by the open deals' readers, each scanning only
-- the rows of their few entities (a CTE read more than once is materialized whole).
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

-- The conversions per month of reaching, segment and stage (only groups with a
-- converter: the grid below fills the zeros).
transition_stats as (
    select * from {{ ref('int_stage_transitions_counted') }}
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
