-- Per entity and funnel stage: when it was first entered, whether and when it counts as
-- reached under the funnel's reach policy, whether only by implication, whether the
-- deal moved back from it, and whether it falls inside the cohort window.
-- Grain: one row per funnel, entity and stage reached (reached_at or reached_by set): a
-- stage the entity has not reached has no row. Every reader wants the reached rows only,
-- and the unreached ones were three in five of entities × stages (6 of 10 M rows written
-- at 10 M calls). Times are bounds (int_stage_entries_unioned):
-- reached_at is the earliest the stage can have been reached (window, cohort), reached_by
-- the latest (period view); is_exact when they agree — only those enter durations.
--   implied: reached at the earliest first entry of this or any later stage
--   strict:  reached only if every stage up to it was entered, in order
--   any:     reached when entered
-- Incremental by cohort month (macros/incremental.sql).
{{ incremental_months('cohort_month', 'rebuild_from', 'funnel_id') }}

with

entries as (
    select * from {{ ref('int_stage_entries_unioned') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

-- entity_key: an integer for the pair (funnel, entity), so the group-by, the windows and
-- the joins below work on one number rather than on the long entity ids; the ids join
-- back once, at the end.
entities as (
    select
        *,
        row_number() over (order by funnel_id, entity_id) as entity_key
    from {{ ref('int_entities_described') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

stages as (
    select * from {{ ref('stg_landing__config_stages') }}
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

-- Each stage with the funnel's stage before it (none for the first).
stages_with_previous as (
    select
        funnel_id,
        stage_order,
        stage_key,
        lag(stage_order) over (partition by funnel_id order by stage_order) as previous_stage_order
    from stages
),

-- An entry of an entity that has no row in entities would reach no stage: dropped here.
keyed_entries as (
    select
        entities.entity_key,
        entries.stage_order,
        entries.entered_at,
        entries.entered_by,
        entries.is_exact,
        entries.entry_kind
    from entries
    inner join entities
        on
            entries.funnel_id = entities.funnel_id
            and entries.entity_id = entities.entity_id
),

-- An exact entry into a stage is better knowledge than a snapshot's bounds for it: the
-- bounds count only for a stage the entity has no exact entry into.
first_entries as (
    select
        entity_key,
        stage_order,
        coalesce(min(case when is_exact then entered_at end), min(entered_at)) as first_entered_at,
        coalesce(min(case when is_exact then entered_by end), min(entered_by)) as first_entered_by
    from keyed_entries
    group by entity_key, stage_order
),

-- A CRM entry followed later by an entry into an earlier stage: a move back (ordered by
-- the upper bound: the order the CRM's snapshots saw them in).
crm_entries_with_later_minimum as (
    select
        entity_key,
        stage_order,
        min(stage_order) over (
            partition by entity_key
            order by entered_by, stage_order
            rows between 1 following and unbounded following
        ) as later_min_stage_order
    from keyed_entries
    where entry_kind = 'crm'
),

regressions as (
    select distinct
        entity_key,
        stage_order
    from crm_entries_with_later_minimum
    where later_min_stage_order < stage_order
),

-- The furthest stage each entity entered. A stage after it is reached under no policy
-- (no entry into it or any later stage), and none of the running figures below of a
-- stage up to it looks at the stages after it (sums up to the row; minimums from the row
-- on, over entries there are none of): the grid stops there. About half the rows of
-- entities x stages, and the windows are the model's heaviest step.
furthest_entries as (
    select
        entity_key,
        max(stage_order) as furthest_stage_order
    from first_entries
    group by entity_key
),

-- Entities x stages up to the furthest entered, narrow (the entity's ids join back
-- afterwards), with the first entry into the stage and into the stage before it.
-- is_before_previous: the stage was entered earlier than the stage before it.
grid as (
    select
        entities.entity_key,
        stages_with_previous.stage_order,
        stages_with_previous.stage_key,
        funnels.reach_policy,
        funnels.window_days,
        first_entries.first_entered_at,
        first_entries.first_entered_by,
        case
            when first_entries.first_entered_at < previous_entries.first_entered_at then 1
            else 0
        end as is_before_previous
    from entities
    inner join furthest_entries
        on entities.entity_key = furthest_entries.entity_key
    inner join stages_with_previous
        on
            entities.funnel_id = stages_with_previous.funnel_id
            and furthest_entries.furthest_stage_order >= stages_with_previous.stage_order
    inner join funnels
        on entities.funnel_id = funnels.funnel_id
    left join first_entries
        on
            entities.entity_key = first_entries.entity_key
            and stages_with_previous.stage_order = first_entries.stage_order
    left join first_entries as previous_entries
        on
            entities.entity_key = previous_entries.entity_key
            and stages_with_previous.previous_stage_order = previous_entries.stage_order
),

-- One ordering for all four running figures ("from here on" is the frame after the row).
-- strict needs every stage up to here entered and in order: with none missing, the
-- entries are in order exactly when no stage was entered before the stage before it.
with_running as (
    select
        *,
        min(first_entered_at) over (
            partition by entity_key
            order by stage_order
            rows between current row and unbounded following
        ) as earliest_entry_from_here_on,
        min(first_entered_by) over (
            partition by entity_key
            order by stage_order
            rows between current row and unbounded following
        ) as earliest_entry_by_from_here_on,
        sum(case when first_entered_at is null then 1 else 0 end) over (
            partition by entity_key
            order by stage_order
            rows between unbounded preceding and current row
        ) as missing_up_to_here,
        sum(is_before_previous) over (
            partition by entity_key
            order by stage_order
            rows between unbounded preceding and current row
        ) as order_breaks_up_to_here
    from grid
),

reached as (
    select
        entity_key,
        stage_order,
        stage_key,
        window_days,
        first_entered_at,
        case reach_policy
            when 'implied' then earliest_entry_from_here_on
            when 'strict'
                then
                    case
                        when
                            missing_up_to_here = 0
                            and order_breaks_up_to_here = 0
                            then first_entered_at
                    end
            else first_entered_at
        end as reached_at,
        case reach_policy
            when 'implied' then earliest_entry_by_from_here_on
            when 'strict'
                then
                    case
                        when
                            missing_up_to_here = 0
                            and order_breaks_up_to_here = 0
                            then first_entered_by
                    end
            else first_entered_by
        end as reached_by
    from with_running
),

final as (
    select
        entities.funnel_id,
        entities.entity_id,
        reached.stage_order,
        reached.stage_key,
        reached.first_entered_at,
        reached.reached_at,
        reached.reached_by,
        reached.reached_at is not null and reached.reached_at = reached.reached_by as is_exact,
        reached.reached_at is not null and reached.first_entered_at is null as is_implied,
        regressions.entity_key is not null as is_regressed,
        reached.reached_at is not null
        and reached.reached_at
        <= {{ dbt.dateadd('day', 'reached.window_days', 'entities.anchor_at') }} as is_within_window,
        entities.cohort_month
    from reached
    inner join entities
        on reached.entity_key = entities.entity_key
    left join regressions
        on
            reached.entity_key = regressions.entity_key
            and reached.stage_order = regressions.stage_order
    where reached.reached_at is not null or reached.reached_by is not null
)

select * from final
order by cohort_month
