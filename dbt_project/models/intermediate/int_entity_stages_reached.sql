-- Per entity and funnel stage: when it was first entered, whether and when it counts as
-- reached under the funnel's reach policy, whether only by implication, whether the
-- deal moved back from it, and whether it falls inside the cohort window.
-- Grain: one row per funnel, entity and stage. Times are bounds (int_stage_entries_unioned):
-- reached_at is the earliest the stage can have been reached (window, cohort), reached_by
-- the latest (period view); is_exact when they agree — only those enter durations.
--   implied: reached at the earliest first entry of this or any later stage
--   strict:  reached only if every stage up to it was entered, in order
--   any:     reached when entered
-- Incremental by cohort month (macros/incremental.sql).
{{ incremental_months('cohort_month', rebuild_from('funnel_id')) }}

with

entries as (
    select * from {{ ref('int_stage_entries_unioned') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

-- entity_key: an integer for the pair (funnel, entity), so the windows below partition
-- and sort on one number rather than on the long entity ids.
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

-- An exact entry into a stage is better knowledge than a snapshot's bounds for it: the
-- bounds count only for a stage the entity has no exact entry into.
first_entries as (
    select
        funnel_id,
        entity_id,
        stage_order,
        coalesce(min(case when is_exact then entered_at end), min(entered_at)) as first_entered_at,
        coalesce(min(case when is_exact then entered_by end), min(entered_by)) as first_entered_by
    from entries
    group by funnel_id, entity_id, stage_order
),

-- A CRM entry followed later by an entry into an earlier stage: a move back (ordered by
-- the upper bound: the order the CRM's snapshots saw them in).
crm_entries_with_later_minimum as (
    select
        funnel_id,
        entity_id,
        stage_order,
        min(stage_order) over (
            partition by funnel_id, entity_id
            order by entered_by, stage_order
            rows between 1 following and unbounded following
        ) as later_min_stage_order
    from entries
    where entry_kind = 'crm'
),

regressions as (
    select distinct
        funnel_id,
        entity_id,
        stage_order
    from crm_entries_with_later_minimum
    where later_min_stage_order < stage_order
),

-- Only the key, the stage and the first entries go through the windows (narrow rows to
-- sort); the entity's and the funnel's columns join back afterwards.
grid as (
    select
        entities.entity_key,
        stages.stage_order,
        first_entries.first_entered_at,
        first_entries.first_entered_by
    from entities
    inner join stages
        on entities.funnel_id = stages.funnel_id
    left join first_entries
        on
            entities.funnel_id = first_entries.funnel_id
            and entities.entity_id = first_entries.entity_id
            and stages.stage_order = first_entries.stage_order
),

-- One ordering for all four running figures ("from here on" is the frame after the row).
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
        max(first_entered_at) over (
            partition by entity_key
            order by stage_order
            rows between unbounded preceding and current row
        ) as latest_entry_up_to_here
    from grid
),

with_order_breaks as (
    select
        *,
        sum(
            case
                when first_entered_at is not null and first_entered_at < latest_entry_up_to_here then 1
                else 0
            end
        ) over (
            partition by entity_key
            order by stage_order
            rows between unbounded preceding and current row
        ) as order_breaks_up_to_here
    from with_running
),

reached as (
    select
        entities.funnel_id,
        entities.entity_id,
        entities.anchor_at,
        entities.cohort_month,
        with_order_breaks.stage_order,
        stages.stage_key,
        funnels.window_days,
        with_order_breaks.first_entered_at,
        case funnels.reach_policy
            when 'implied' then with_order_breaks.earliest_entry_from_here_on
            when 'strict'
                then
                    case
                        when
                            with_order_breaks.missing_up_to_here = 0
                            and with_order_breaks.order_breaks_up_to_here = 0
                            then with_order_breaks.first_entered_at
                    end
            else with_order_breaks.first_entered_at
        end as reached_at,
        case funnels.reach_policy
            when 'implied' then with_order_breaks.earliest_entry_by_from_here_on
            when 'strict'
                then
                    case
                        when
                            with_order_breaks.missing_up_to_here = 0
                            and with_order_breaks.order_breaks_up_to_here = 0
                            then with_order_breaks.first_entered_by
                    end
            else with_order_breaks.first_entered_by
        end as reached_by
    from with_order_breaks
    inner join entities
        on with_order_breaks.entity_key = entities.entity_key
    inner join funnels
        on entities.funnel_id = funnels.funnel_id
    inner join stages
        on
            entities.funnel_id = stages.funnel_id
            and with_order_breaks.stage_order = stages.stage_order
),

final as (
    select
        reached.funnel_id,
        reached.entity_id,
        reached.stage_order,
        reached.stage_key,
        reached.first_entered_at,
        reached.reached_at,
        reached.reached_by,
        reached.reached_at is not null and reached.reached_at = reached.reached_by as is_exact,
        reached.reached_at is not null and reached.first_entered_at is null as is_implied,
        regressions.entity_id is not null as is_regressed,
        reached.reached_at is not null
        and reached.reached_at
        <= {{ dbt.dateadd('day', 'reached.window_days', 'reached.anchor_at') }} as is_within_window,
        reached.cohort_month
    from reached
    left join regressions
        on
            reached.funnel_id = regressions.funnel_id
            and reached.entity_id = regressions.entity_id
            and reached.stage_order = regressions.stage_order
)

select * from final
