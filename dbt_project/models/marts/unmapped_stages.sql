-- CRM stage names of the funnels' pipelines that map to no funnel stage: reported, never
-- guessed and never dropped (docs/contracts.md "Bad input"). A name is checked against
-- config_stage_map at the local date it was seen, as int_stage_entries_unioned maps it;
-- the names the CRM uses for won and lost deals are outcomes, not stages.
-- Tagged crm_and_config: a run with no new CRM file leaves it as the previous build wrote it
-- (pipeline/incremental.py).
with

deals as (
    select * from {{ ref('stg_landing__crm_deals') }}
),

events as (
    select * from {{ ref('int_stage_events_merged') }}
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

-- A history entry under the pipeline the export showed the deal in (a deal moved between
-- pipelines: the inferred entry's own), else the deal's; one under a pipeline of no
-- funnel is no funnel's stage.
event_sightings as (
    select
        funnel_deals.source,
        coalesce(events.crm_pipeline, funnel_deals.crm_pipeline) as crm_pipeline,
        funnel_deals.deal_id,
        events.stage,
        events.entered_at as seen_at
    from events
    inner join funnel_deals
        on
            events.source = funnel_deals.source
            and events.deal_id = funnel_deals.deal_id
    inner join funnel_pipelines
        on
            events.source = funnel_pipelines.source
            and (
                funnel_pipelines.crm_pipeline is null
                or coalesce(events.crm_pipeline, funnel_deals.crm_pipeline) = funnel_pipelines.crm_pipeline
            )
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

-- The names seen (a deal's pipeline, its current stage or one of its history) that a
-- sighting can leave unmapped, whatever its date: not an outcome (the stage of a won or
-- lost deal, a configured outcome name), and not mapped for every date (a mapping with
-- validity bounds is checked at each sighting's date below). Nearly every name is mapped
-- for good: only the few others' sightings are dated and checked.
seen_names as (
    select distinct
        source,
        crm_pipeline,
        stage
    from funnel_deals
    where stage is not null
    union
    select distinct
        source,
        crm_pipeline,
        stage
    from event_sightings
    where stage is not null
),

doubtful_names as (
    select seen_names.*
    from seen_names
    left join stage_map
        on
            seen_names.source = stage_map.source
            and (stage_map.crm_pipeline is null or seen_names.crm_pipeline = stage_map.crm_pipeline)
            and seen_names.stage = stage_map.crm_stage
            and stage_map.valid_from is null
            and stage_map.valid_to is null
    left join terminal_names
        on
            seen_names.source = terminal_names.source
            and seen_names.stage = terminal_names.stage
    left join outcome_stages
        on
            seen_names.source = outcome_stages.source
            and lower(trim(seen_names.stage)) = outcome_stages.crm_stage
    where
        stage_map.crm_stage is null
        and terminal_names.stage is null
        and outcome_stages.crm_stage is null
),

doubtful_events as (
    select event_sightings.*
    from event_sightings
    inner join doubtful_names
        on
            event_sightings.source = doubtful_names.source
            and event_sightings.crm_pipeline is not distinct from doubtful_names.crm_pipeline
            and event_sightings.stage = doubtful_names.stage
),

-- A current stage the history already shows entering is checked at that entry's date;
-- otherwise the snapshot is the only date there is. (A deal's current stage and its
-- history entries of that stage are one name: both doubtful, or neither.)
doubtful_current as (
    select
        funnel_deals.source,
        funnel_deals.crm_pipeline,
        funnel_deals.deal_id,
        funnel_deals.stage,
        funnel_deals.snapshot_at as seen_at
    from funnel_deals
    inner join doubtful_names
        on
            funnel_deals.source = doubtful_names.source
            and funnel_deals.crm_pipeline is not distinct from doubtful_names.crm_pipeline
            and funnel_deals.stage = doubtful_names.stage
    left join doubtful_events
        on
            funnel_deals.source = doubtful_events.source
            and funnel_deals.deal_id = doubtful_events.deal_id
            and funnel_deals.stage = doubtful_events.stage
    where doubtful_events.deal_id is null
),

sightings as (
    select * from doubtful_events
    union all
    select * from doubtful_current
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
    where stage_map.crm_stage is null
),

final as (
    select
        source,
        crm_pipeline,
        stage,
        cast(count(distinct deal_id) as {{ dbt.type_bigint() }}) as deals,
        min(seen_at) as first_seen,
        {{ to_local('min(seen_at)') }} as first_seen_local
    from unmapped_sightings
    group by source, crm_pipeline, stage
)

select * from final
