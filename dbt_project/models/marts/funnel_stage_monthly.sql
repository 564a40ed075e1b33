-- Stage conversions per funnel, month, view and segment (docs/contracts.md "Funnel semantics").
--   cohort: entities whose anchor fell in the month, stages reached within the window;
--           entities_next counts entities that reached this stage and the next.
--   period: entries into each stage during the month; the ratio may exceed 1. A stage
--           known only from a snapshot counts in the month of its upper bound (reached_by:
--           when the export first showed it), of the second before it (an export taken at
--           00:00 on the 1st shows the month before), docs/contracts.md "Every deal counts".
-- Incremental by month (macros/incremental.sql): a recomputed month counts its cohorts'
-- entities and every entity's entries in it, whatever the entity's cohort.
{{ incremental_months('month', 'marts_rebuild_from', 'funnel_id') }}

with

entities as (
    select * from {{ ref('int_entities_described') }}
    where {{ from_boundary('cohort_month', marts_rebuild_from('funnel_id')) }}
),

-- The months recomputed, and every month of a segment the table has no row of yet (a
-- manager or lead source first seen in the new data): its months before the boundary get
-- their rows too, of no entities (an entity of an earlier month whose segment changed
-- moves the boundary back to its cohort month), as a full build spans every segment over
-- every month. DuckDB's replace_months adds them; Spark's insert_overwrite would replace
-- those months' partitions with them alone, so there a new segment needs a full build.
segment_months as (
    select * from {{ ref('int_segment_months_spined') }}
    where {{ from_boundary('month', marts_rebuild_from('funnel_id')) }}
    {% if is_incremental() and target.type != 'spark' %}
        union all
        select spined.*
        from {{ ref('int_segment_months_spined') }} as spined
        where
            not ({{ from_boundary('spined.month', marts_rebuild_from('spined.funnel_id')) }})
            and not exists (
                select 1 from {{ this }} as built
                where
                    built.funnel_id = spined.funnel_id
                    and built.segment_type = spined.segment_type
                    and built.segment = spined.segment
            )
    {% endif %}
),

stages as (
    select * from {{ ref('stg_landing__config_stages') }}
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

-- Each stage with the funnel's next stage (none for the last).
stages_with_next as (
    select
        funnel_id,
        stage_order,
        lead(stage_order) over (partition by funnel_id order by stage_order) as next_stage_order
    from stages
),

-- Only the reaches within the window add to the cohort sums, so only they are ranked: an
-- entity's next stage is within the window exactly when its next row within the window
-- is that stage (a window over these rows only). Both readers of the reaches, and the
-- three joins to the segments, scan the table themselves (a CTE read twice is
-- materialized whole: 7.3 M segment rows at 10 M calls). A reach row carries its
-- entity's cohort month (int_entity_stages_reached takes it from int_entities_described):
-- no join to the entities for it.
reach_within_window as (
    select
        reached.funnel_id,
        reached.entity_id,
        reached.cohort_month,
        reached.stage_order,
        reached.is_implied,
        reached.is_regressed,
        lead(reached.stage_order) over (
            partition by reached.funnel_id, reached.entity_id
            order by reached.stage_order
        ) as next_stage_order_within_window
    from {{ ref('int_entity_stages_reached') }} as reached
    where
        reached.is_within_window
        and {{ from_boundary('reached.cohort_month', marts_rebuild_from('reached.funnel_id')) }}
),

reach_with_next as (
    select
        reach_within_window.funnel_id,
        reach_within_window.entity_id,
        reach_within_window.cohort_month,
        reach_within_window.stage_order,
        reach_within_window.is_implied,
        reach_within_window.is_regressed,
        coalesce(
            reach_within_window.next_stage_order_within_window = stages_with_next.next_stage_order, false
        ) as next_is_within_window
    from reach_within_window
    inner join stages_with_next
        on
            reach_within_window.funnel_id = stages_with_next.funnel_id
            and reach_within_window.stage_order = stages_with_next.stage_order
),

cohort_counts as (
    select
        reach_with_next.funnel_id,
        reach_with_next.cohort_month as month,
        segments.segment_type,
        segments.segment,
        reach_with_next.stage_order,
        count(*) as entities,
        sum(case when reach_with_next.next_is_within_window then 1 else 0 end) as entities_next,
        sum(case when reach_with_next.is_implied then 1 else 0 end) as entities_implied,
        sum(case when reach_with_next.is_regressed then 1 else 0 end) as entities_regressed
    from reach_with_next
    inner join {{ ref('int_entity_segments') }} as segments
        on
            reach_with_next.funnel_id = segments.funnel_id
            and reach_with_next.entity_id = segments.entity_id
    -- a stage outside the window adds to none of the sums: dropped (reach_within_window)
    -- before the segments multiply the rows
    group by 1, 2, 3, 4, 5
),

cohort_open as (
    select
        entities.funnel_id,
        entities.cohort_month as month,
        segments.segment_type,
        segments.segment,
        count(*) as cohort_entities,
        sum(
            case
                when
                    entities.status not in ('won', 'lost')
                    and {{ dbt.dateadd('day', 'funnels.window_days', 'entities.anchor_at') }} > cutoff.cutoff_at
                    then 1
                else 0
            end
        ) as open_entities
    from entities
    inner join funnels
        on entities.funnel_id = funnels.funnel_id
    inner join {{ ref('int_entity_segments') }} as segments
        on
            entities.funnel_id = segments.funnel_id
            and entities.entity_id = segments.entity_id
    cross join cutoff
    group by 1, 2, 3, 4
),

-- The local month once per reach, before the segments multiply the rows: of its upper
-- bound, the second before it for a reach known by its bounds (macros/time.sql
-- happened_by: an export of 00:00 on the 1st shows the month before).
reaches_counted as (
    select
        *,
        {{ happened_by('reached_by', 'is_exact') }} as counted_at
    from {{ ref('int_entity_stages_reached') }}
    where reached_by is not null
),

period_reached as (
    select
        funnel_id,
        entity_id,
        {{ local_month('counted_at') }} as month,
        stage_order,
        is_implied,
        is_regressed
    from reaches_counted
    where {{ from_local_boundary('counted_at', 'marts_rebuild_from', 'funnel_id') }}
),

period_counts as (
    select
        period_reached.funnel_id,
        period_reached.month,
        segments.segment_type,
        segments.segment,
        period_reached.stage_order,
        count(*) as entities,
        sum(case when period_reached.is_implied then 1 else 0 end) as entities_implied,
        sum(case when period_reached.is_regressed then 1 else 0 end) as entities_regressed
    from period_reached
    inner join {{ ref('int_entity_segments') }} as segments
        on
            period_reached.funnel_id = segments.funnel_id
            and period_reached.entity_id = segments.entity_id
    group by 1, 2, 3, 4, 5
),

views as (
    select 'cohort' as view
    union all
    select 'period' as view
),

grid as (
    select
        segment_months.funnel_id,
        segment_months.month,
        views.view,
        segment_months.segment_type,
        segment_months.segment,
        stages.stage_order,
        stages.stage_key,
        funnels.stage_count,
        funnels.window_days
    from segment_months
    inner join stages
        on segment_months.funnel_id = stages.funnel_id
    inner join funnels
        on segment_months.funnel_id = funnels.funnel_id
    cross join views
),

counted as (
    select
        grid.*,
        coalesce(
            case when grid.view = 'cohort' then cohort_counts.entities else period_counts.entities end,
            0
        ) as entities,
        case
            when grid.view = 'cohort' then cohort_counts.entities_next
        end as cohort_entities_next,
        coalesce(
            case
                when grid.view = 'cohort' then cohort_counts.entities_implied
                else period_counts.entities_implied
            end,
            0
        ) as entities_implied,
        coalesce(
            case
                when grid.view = 'cohort' then cohort_counts.entities_regressed
                else period_counts.entities_regressed
            end,
            0
        ) as entities_regressed,
        cohort_open.cohort_entities,
        cohort_open.open_entities
    from grid
    left join cohort_counts
        on
            grid.view = 'cohort'
            and grid.funnel_id = cohort_counts.funnel_id
            and grid.month = cohort_counts.month
            and grid.segment_type = cohort_counts.segment_type
            and grid.segment = cohort_counts.segment
            and grid.stage_order = cohort_counts.stage_order
    left join period_counts
        on
            grid.view = 'period'
            and grid.funnel_id = period_counts.funnel_id
            and grid.month = period_counts.month
            and grid.segment_type = period_counts.segment_type
            and grid.segment = period_counts.segment
            and grid.stage_order = period_counts.stage_order
    left join cohort_open
        on
            grid.view = 'cohort'
            and grid.funnel_id = cohort_open.funnel_id
            and grid.month = cohort_open.month
            and grid.segment_type = cohort_open.segment_type
            and grid.segment = cohort_open.segment
),

with_neighbours as (
    select
        counted.*,
        case
            when counted.stage_order = counted.stage_count then null
            when counted.view = 'cohort' then coalesce(counted.cohort_entities_next, 0)
            else
                lead(counted.entities) over (
                    partition by
                        counted.funnel_id, counted.month, counted.view, counted.segment_type, counted.segment
                    order by counted.stage_order
                )
        end as entities_next,
        first_value(counted.entities) over (
            partition by counted.funnel_id, counted.month, counted.view, counted.segment_type, counted.segment
            order by counted.stage_order
        ) as entities_first
    from counted
),

final as (
    select
        with_neighbours.funnel_id,
        with_neighbours.month,
        with_neighbours.view,
        with_neighbours.segment_type,
        with_neighbours.segment,
        cast(with_neighbours.stage_order as {{ dbt.type_int() }}) as stage_order,
        with_neighbours.stage_key,
        cast(with_neighbours.entities as {{ dbt.type_bigint() }}) as entities,
        cast(with_neighbours.entities_next as {{ dbt.type_bigint() }}) as entities_next,
        cast(with_neighbours.entities_implied as {{ dbt.type_bigint() }}) as entities_implied,
        cast(with_neighbours.entities_regressed as {{ dbt.type_bigint() }}) as entities_regressed,
        {{ ratio('with_neighbours.entities_next', 'with_neighbours.entities') }} as conversion_to_next,
        {{ ratio('with_neighbours.entities', 'with_neighbours.entities_first') }} as conversion_from_first,
        1 - {{ ratio('with_neighbours.entities_next', 'with_neighbours.entities') }} as dropoff_to_next,
        case
            when with_neighbours.view = 'cohort' and with_neighbours.entities_next is not null
                then {{ wilson_bound('with_neighbours.entities_next', 'with_neighbours.entities', 'low') }}
        end as conversion_ci_low,
        case
            when with_neighbours.view = 'cohort' and with_neighbours.entities_next is not null
                then {{ wilson_bound('with_neighbours.entities_next', 'with_neighbours.entities', 'high') }}
        end as conversion_ci_high,
        case
            when with_neighbours.view = 'cohort'
                then
                    {{ dbt.dateadd(
                        'day', 'with_neighbours.window_days',
                        dbt.dateadd('month', '1', 'with_neighbours.month')
                    ) }} <= cutoff.cutoff_local
            else {{ dbt.dateadd('month', '1', 'with_neighbours.month') }} <= cutoff.cutoff_local
        end as is_mature,
        case
            when with_neighbours.view = 'cohort'
                then {{ ratio('coalesce(with_neighbours.open_entities, 0)', 'with_neighbours.cohort_entities') }}
        end as share_open
    from with_neighbours
    cross join cutoff
)

select * from final
