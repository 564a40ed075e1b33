-- Each deal's stages as the forecast reads them "as of" a moment
-- (int_forecast_deal_periods): one row per deal and stage it has an entry into, with when
-- the stage was first known to be reached (its earliest upper bound, entered_by), its
-- first exact entry (known from the moment it happened: an exact entry's bounds are
-- equal), and until when it was the deal's furthest known stage (until a further one was
-- first known to be reached: a bounded entry may become known after a later stage's, and
-- then the stage is never the furthest); and on every row of the deal, when it became
-- known (its first entry but a linked call: a call made before the deal existed belongs to
-- it only once the deal is created) and was won (its won-stage entry: exact at closed_at,
-- or a snapshot's upper bound; won_exact_at its first exact one). stage_rank 1 is the
-- deal's furthest stage.
-- Incremental by cohort month (macros/incremental.sql), as int_stage_entries_unioned: a
-- deal's rows are a function of its entries there, which a run rewrites for the cohorts
-- from the boundary on and keeps, as they were, before it.
{{ incremental_months('cohort_month', 'rebuild_from', 'funnel_id') }}

with

deals as (
    select * from {{ ref('int_deals_joined_to_funnels') }}
),

entries as (
    select * from {{ ref('int_stage_entries_unioned') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

stages as (
    select * from {{ ref('stg_landing__config_stages') }}
),

won_stages as (
    select
        funnel_id,
        min(stage_order) as won_stage_order
    from stages
    where crm_status = 'won'
    group by funnel_id
),

deal_stages as (
    select
        entries.funnel_id,
        entries.entity_id,
        entries.cohort_month,
        entries.stage_order,
        min(entries.entered_by) as reached_by,
        -- exact: an exact entry, or one whose bounds meet (a deal created at the instant of
        -- the export that first shows it), as int_entity_stages_reached tells them
        min(
            case when entries.is_exact or entries.entered_at = entries.entered_by then entries.entered_at end
        ) as exact_reached_at,
        min(case when entries.entry_kind <> 'call' then entries.entered_by end) as known_by
    from entries
    where
        exists (
            select 1 from deals
            where
                entries.funnel_id = deals.funnel_id
                and entries.entity_id = deals.entity_id
        )
    group by
        entries.funnel_id,
        entries.entity_id,
        entries.cohort_month,
        entries.stage_order
),

final as (
    select
        deal_stages.funnel_id,
        deal_stages.entity_id,
        deal_stages.cohort_month,
        deal_stages.stage_order,
        won_stages.won_stage_order,
        deal_stages.reached_by,
        deal_stages.exact_reached_at,
        min(deal_stages.reached_by) over (
            partition by deal_stages.funnel_id, deal_stages.entity_id
            order by deal_stages.stage_order desc
            rows between unbounded preceding and 1 preceding
        ) as furthest_until,
        min(deal_stages.known_by) over (
            partition by deal_stages.funnel_id, deal_stages.entity_id
            order by deal_stages.stage_order desc
            rows between unbounded preceding and unbounded following
        ) as first_known_at,
        min(case when deal_stages.stage_order = won_stages.won_stage_order then deal_stages.reached_by end) over (
            partition by deal_stages.funnel_id, deal_stages.entity_id
            order by deal_stages.stage_order desc
            rows between unbounded preceding and unbounded following
        ) as won_at,
        min(
            case when deal_stages.stage_order = won_stages.won_stage_order then deal_stages.exact_reached_at end
        ) over (
            partition by deal_stages.funnel_id, deal_stages.entity_id
            order by deal_stages.stage_order desc
            rows between unbounded preceding and unbounded following
        ) as won_exact_at,
        row_number() over (
            partition by deal_stages.funnel_id, deal_stages.entity_id
            order by deal_stages.stage_order desc
        ) as stage_rank
    from deal_stages
    inner join won_stages
        on deal_stages.funnel_id = won_stages.funnel_id
)

select * from final
order by cohort_month
