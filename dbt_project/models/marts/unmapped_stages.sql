-- CRM stage names of the funnels' pipelines that map to no funnel stage: reported, never
-- guessed and never dropped (docs/contracts.md "Bad input"). A name is checked against
-- config_stage_map at the local date it was seen, as int_stage_entries_unioned maps it;
-- the names the CRM uses for won and lost deals are outcomes, not stages.
-- Kept as built when no CRM file is new (macros/incremental_files.sql).
{{ kept_without_new_crm_files() }}
with

deals as (
    select * from {{ ref('stg_landing__crm_deals') }}
    where {{ crm_changed() }}
),

events as (
    select * from {{ ref('int_stage_events_merged') }}
    where {{ crm_changed() }}
),

funnel_crm as (
    select * from {{ ref('stg_landing__config_funnel_crm') }}
),

stage_map as (
    select * from {{ ref('stg_landing__config_stage_map') }}
),

funnel_pipelines as (
    select distinct
        source,
        crm_pipeline
    from funnel_crm
),

-- A funnel without a pipeline takes every deal of its source (crm_pipeline null). A deal
-- of two funnels' pipelines joins twice: distinct on the columns read below, not on the
-- whole deal row.
funnel_deals as (
    select distinct
        deals.source,
        deals.crm_pipeline,
        deals.deal_id,
        deals.stage,
        deals.snapshot_at
    from deals
    inner join funnel_pipelines
        on
            deals.source = funnel_pipelines.source
            and (funnel_pipelines.crm_pipeline is null or deals.crm_pipeline = funnel_pipelines.crm_pipeline)
),

event_sightings as (
    select
        funnel_deals.source,
        funnel_deals.crm_pipeline,
        funnel_deals.deal_id,
        events.stage,
        events.entered_at as seen_at
    from events
    inner join funnel_deals
        on
            events.source = funnel_deals.source
            and events.deal_id = funnel_deals.deal_id
),

-- A current stage the history already shows entering is checked at that entry's date;
-- otherwise the snapshot is the only date there is.
current_sightings as (
    select
        funnel_deals.source,
        funnel_deals.crm_pipeline,
        funnel_deals.deal_id,
        funnel_deals.stage,
        funnel_deals.snapshot_at as seen_at
    from funnel_deals
    left join event_sightings
        on
            funnel_deals.source = event_sightings.source
            and funnel_deals.deal_id = event_sightings.deal_id
            and funnel_deals.stage = event_sightings.stage
    where event_sightings.deal_id is null
),

sightings as (
    select * from event_sightings
    union all
    select * from current_sightings
),

outcome_stages as (
    select * from {{ ref('stg_landing__config_outcome_stages') }}
),

terminal_names as (
    select distinct
        source,
        stage
    from deals
    where status in ('won', 'lost') and stage is not null
),

unmapped_sightings as (
    select sightings.*
    from sightings
    left join stage_map
        on
            sightings.source = stage_map.source
            and (stage_map.crm_pipeline is null or sightings.crm_pipeline = stage_map.crm_pipeline)
            and sightings.stage = stage_map.crm_stage
            and (stage_map.valid_from is null or {{ local_date('sightings.seen_at') }} >= stage_map.valid_from)
            and (stage_map.valid_to is null or {{ local_date('sightings.seen_at') }} <= stage_map.valid_to)
    left join terminal_names
        on
            sightings.source = terminal_names.source
            and sightings.stage = terminal_names.stage
    left join outcome_stages
        on
            sightings.source = outcome_stages.source
            and lower(trim(sightings.stage)) = outcome_stages.crm_stage
    where
        sightings.stage is not null
        and stage_map.crm_stage is null
        and terminal_names.stage is null
        and outcome_stages.crm_stage is null
),

final as (
    select
        source,
        crm_pipeline,
        stage,
        cast(count(distinct deal_id) as {{ dbt.type_bigint() }}) as deals,
        min(seen_at) as first_seen
    from unmapped_sightings
    group by source, crm_pipeline, stage
)

select * from final
