-- Deals of each funnel's CRM pipelines (every deal of the source when the funnel names no
-- pipeline: config crm_pipeline null), one row per funnel and deal.
-- A deal its deals file shows open but whose history records an outcome (a history row
-- entering a stage named as won or lost: config_outcome_stages) takes that outcome at the
-- history row's time: a lead list with a separate won-deals file closes its leads there.
-- closed_by: when a closed deal was closed at the latest: its closed_at, else the first
-- export that showed its outcome for good (a lead list's `Won`, an export without a close
-- date).
-- Tagged crm_and_config: a run with no new CRM file leaves it as the previous build wrote it
-- (pipeline/incremental.py).
-- Without voronka.yaml's `currency`, a funnel whose deals' amounts are in several
-- currencies fails the build (macros/currency.sql amounts_in_one_currency).
-- depends_on: {{ ref('stg_landing__crm_deal_snapshots') }}, {{ ref('stg_landing__config_settings') }}
{{ config(post_hook='{{ amounts_in_one_currency(this) }}') }}

with

deals as (
    select * from {{ ref('stg_landing__crm_deals') }}
),

events as (
    select * from {{ ref('stg_landing__crm_stage_events') }}
),

outcome_stages as (
    select * from {{ ref('stg_landing__config_outcome_stages') }}
),

funnel_crm as (
    select * from {{ ref('stg_landing__config_funnel_crm') }}
),

-- The first outcome each deal's history records (won before lost on a tie).
history_outcomes as (
    select
        events.source,
        events.deal_id,
        outcome_stages.status,
        events.entered_at,
        row_number() over (
            partition by events.source, events.deal_id
            order by events.entered_at asc, outcome_stages.status desc
        ) as outcome_rank
    from events
    inner join outcome_stages
        on
            events.source = outcome_stages.source
            and lower(trim(events.stage)) = outcome_stages.crm_stage
    where events.is_exact
),

first_outcomes as (
    select * from history_outcomes
    where outcome_rank = 1
),

joined as (
    select
        funnel_crm.funnel_id,
        {{ dbt.concat(["'deal:'", "deals.source", "':'", "deals.deal_id"]) }} as entity_id,
        deals.source,
        deals.deal_id,
        deals.crm_pipeline,
        deals.stage as current_stage,
        case
            when deals.status = 'open' and first_outcomes.status is not null then first_outcomes.status
            else deals.status
        end as status,
        deals.created_at,
        case
            when deals.status = 'open' and first_outcomes.status is not null then first_outcomes.entered_at
            else deals.closed_at
        end as closed_at,
        deals.manager,
        deals.lead_source,
        deals.amount,
        deals.lost_reason
    from deals
    inner join funnel_crm
        on
            deals.source = funnel_crm.source
            and (funnel_crm.crm_pipeline is null or deals.crm_pipeline = funnel_crm.crm_pipeline)
    left join first_outcomes
        on
            deals.source = first_outcomes.source
            and deals.deal_id = first_outcomes.deal_id
),

-- Deals closed with no close time in any file, and the sightings of each in the exports
-- (int_stage_entries_inferred: a row where an export shows a new stage or status, at the
-- export's time), each marked whether it shows the deal's outcome.
unclosed as (
    select distinct
        source,
        deal_id,
        status
    from joined
    where status in ('won', 'lost') and closed_at is null
),

sightings as (
    select
        inferred.source,
        inferred.deal_id,
        inferred.entered_at,
        inferred.status = unclosed.status as shows_outcome
    from {{ ref('int_stage_entries_inferred') }} as inferred
    inner join unclosed
        on
            inferred.source = unclosed.source
            and inferred.deal_id = unclosed.deal_id
),

-- Closed by the first export that showed its outcome after the last one that showed it
-- otherwise: a deal won, reopened and won again was closed the second time.
closed_sightings as (
    select
        source,
        deal_id,
        min(entered_at) as closed_by
    from (
        select
            *,
            max(case when not shows_outcome then entered_at end)
                over (partition by source, deal_id)
                as last_otherwise_at
        from sightings
    ) as ordered
    where shows_outcome and (last_otherwise_at is null or entered_at > last_otherwise_at)
    group by source, deal_id
),

final as (
    select
        joined.*,
        case
            when joined.status in ('won', 'lost')
                then coalesce(joined.closed_at, closed_sightings.closed_by)
        end as closed_by
    from joined
    left join closed_sightings
        on
            joined.source = closed_sightings.source
            and joined.deal_id = closed_sightings.deal_id
)

select * from final
