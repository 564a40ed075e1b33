-- Every recorded entry of an entity into a funnel stage (docs/contracts.md "Every deal counts"):
-- each deal's creation (an exact entry into the funnel's first stage), mapped CRM stage
-- events, won deals (at closed_at; and at each sighting as won, by its bounds), and
-- qualifying calls (of linked deals and of call leads), with the entity's anchor (its
-- earliest entry) and cohort month.
-- Grain: one row per entity and recorded entry. An entry is known between two bounds:
-- entered_at (the lower bound; what reach, window and cohort use) and entered_by (the
-- upper bound; what the period view uses). They are equal for exact entries; a stage
-- seen in a snapshot (is_exact false) was entered in (entered_after, snapshot], so its
-- lower bound is the landing row's entered_after.
-- Incremental by cohort month (macros/incremental.sql): an entity of a recomputed month
-- has every entry from the boundary on (a day earlier in UTC), so only those are read;
-- entities the previous build anchored before the boundary are kept as they were.
{{ incremental_months('cohort_month', 'rebuild_from', 'funnel_id') }}

with

events as (
    select * from {{ ref('int_stage_events_merged') }}
    where {{ from_boundary('entered_at', dbt.dateadd('day', '-1', rebuild_from())) }}
),

stage_map as (
    select * from {{ ref('stg_landing__config_stage_map') }}
),

stages as (
    select * from {{ ref('stg_landing__config_stages') }}
),

linked_calls as (
    select * from {{ ref('int_calls_linked_to_deals') }}
    where
        deal_entity_id is not null
        and {{ from_boundary('started_at', dbt.dateadd('day', '-1', rebuild_from('funnel_id'))) }}
),

call_leads as (
    select * from {{ ref('int_call_leads_sessionized') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

first_stages as (
    select * from stages
    where stage_order = 1
),

created_entries as (
    select
        deals.funnel_id,
        deals.entity_id,
        first_stages.stage_key,
        first_stages.stage_order,
        deals.created_at as entered_at,
        deals.created_at as entered_by,
        true as is_exact,
        'created' as entry_kind
    from {{ ref('int_deals_joined_to_funnels') }} as deals
    inner join first_stages
        on deals.funnel_id = first_stages.funnel_id
    where
        deals.created_at is not null
        and {{ from_boundary('deals.created_at', dbt.dateadd('day', '-1', rebuild_from('deals.funnel_id'))) }}
),

-- A stage an export showed while the deal was in another pipeline (a deal moved between
-- pipelines: the inferred entry's own pipeline) maps with that pipeline's names, so it is
-- no entry of a funnel without that pipeline; an exact row, whose pipeline no file says,
-- maps with the deal's (its latest export's).
crm_entries as (
    select
        deals.funnel_id,
        deals.entity_id,
        stage_map.stage_key,
        stage_map.stage_order,
        case
            when events.is_exact then events.entered_at
            else coalesce(events.entered_after, events.entered_at)
        end as entered_at,
        events.entered_at as entered_by,
        events.is_exact,
        'crm' as entry_kind
    from events
    inner join {{ ref('int_deals_joined_to_funnels') }} as deals
        on
            events.source = deals.source
            and events.deal_id = deals.deal_id
    inner join stage_map
        on
            deals.funnel_id = stage_map.funnel_id
            and deals.source = stage_map.source
            and (
                stage_map.crm_pipeline is null
                or coalesce(events.crm_pipeline, deals.crm_pipeline) = stage_map.crm_pipeline
            )
            and events.stage = stage_map.crm_stage
    where
        (stage_map.valid_from is null or {{ local_date('events.entered_at') }} >= stage_map.valid_from)
        and (stage_map.valid_to is null or {{ local_date('events.entered_at') }} <= stage_map.valid_to)
),

status_entries as (
    select
        deals.funnel_id,
        deals.entity_id,
        stages.stage_key,
        stages.stage_order,
        deals.closed_at as entered_at,
        deals.closed_at as entered_by,
        true as is_exact,
        'status' as entry_kind
    from {{ ref('int_deals_joined_to_funnels') }} as deals
    inner join stages
        on
            deals.funnel_id = stages.funnel_id
            and deals.status = stages.crm_status
    where
        deals.closed_at is not null
        and {{ from_boundary('deals.closed_at', dbt.dateadd('day', '-1', rebuild_from('deals.funnel_id'))) }}
),

-- A sighting of the deal as won (a snapshot's status): an entry into the won stage, known
-- by the sighting's bounds as a stage seen in a snapshot is. A deal won with no close date
-- (a lead list's stage `Won`, an export without the column) reaches the won stage, and so
-- does one won and reopened in a later export (moving back from there: a regression);
-- where closed_at is known, the exact status entry above wins. A win an export dated
-- (its close date in the sighting's bounds) that a later export undid (the deal seen in
-- another status after it) is an exact entry at that close: the first entry counts, and
-- the status entry above holds only the latest close.
sightings_read as (
    select
        source,
        deal_id,
        status,
        entered_at,
        sighted_at,
        is_close_dated
    from {{ ref('int_stage_entries_inferred') }}
    where {{ from_boundary('entered_at', dbt.dateadd('day', '-1', rebuild_from())) }}
),

-- The closed sightings with a close date that a later sighting in another status undid.
undone_closes as (
    select distinct
        closed.source,
        closed.deal_id,
        closed.sighted_at
    from sightings_read as closed
    inner join sightings_read as later
        on
            closed.source = later.source
            and closed.deal_id = later.deal_id
            and closed.sighted_at < later.sighted_at
            and closed.status <> later.status
    where closed.status <> 'open' and closed.is_close_dated
),

won_sightings as (
    select
        deals.funnel_id,
        deals.entity_id,
        stages.stage_key,
        stages.stage_order,
        case when undone_closes.deal_id is not null then sightings.entered_at else sightings.entered_after end
            as entered_at,
        sightings.entered_at as entered_by,
        undone_closes.deal_id is not null as is_exact,
        'crm' as entry_kind
    from {{ ref('int_stage_entries_inferred') }} as sightings
    inner join {{ ref('int_deals_joined_to_funnels') }} as deals
        on
            sightings.source = deals.source
            and sightings.deal_id = deals.deal_id
    inner join stages
        on
            deals.funnel_id = stages.funnel_id
            and sightings.status = stages.crm_status
    left join undone_closes
        on
            sightings.source = undone_closes.source
            and sightings.deal_id = undone_closes.deal_id
            and sightings.sighted_at = undone_closes.sighted_at
    where
        {{ from_boundary('sightings.entered_at', dbt.dateadd('day', '-1', rebuild_from('deals.funnel_id'))) }}
        -- shown won in one of the funnel's pipelines, as crm_entries maps stages: a win in
        -- the pipeline a deal moved from is no win of this funnel's
        and exists (
            select 1 from {{ ref('stg_landing__config_funnel_crm') }} as funnel_crm
            where
                funnel_crm.funnel_id = deals.funnel_id
                and funnel_crm.source = deals.source
                and (
                    funnel_crm.crm_pipeline is null
                    or coalesce(sightings.crm_pipeline, deals.crm_pipeline) = funnel_crm.crm_pipeline
                )
        )
),

-- Both call branches scan the qualified calls themselves, each with the boundary, as the
-- three deal branches scan the deals (a CTE read twice is materialized whole: 1.6 M calls
-- and 1 M deals at 10 M calls).
linked_call_entries as (
    select
        qualified_calls.funnel_id,
        linked_calls.deal_entity_id as entity_id,
        qualified_calls.stage_key,
        qualified_calls.stage_order,
        qualified_calls.started_at as entered_at,
        qualified_calls.started_at as entered_by,
        true as is_exact,
        'call' as entry_kind
    from {{ ref('int_calls_qualified') }} as qualified_calls
    inner join linked_calls
        on
            qualified_calls.funnel_id = linked_calls.funnel_id
            and qualified_calls.source = linked_calls.source
            and qualified_calls.call_id = linked_calls.call_id
    where {{ from_boundary(
        'qualified_calls.started_at',
        dbt.dateadd('day', '-1', rebuild_from('qualified_calls.funnel_id'))
    ) }}
),

call_lead_entries as (
    select
        qualified_calls.funnel_id,
        call_leads.entity_id,
        qualified_calls.stage_key,
        qualified_calls.stage_order,
        qualified_calls.started_at as entered_at,
        qualified_calls.started_at as entered_by,
        true as is_exact,
        'call' as entry_kind
    from {{ ref('int_calls_qualified') }} as qualified_calls
    inner join call_leads
        on
            qualified_calls.funnel_id = call_leads.funnel_id
            and qualified_calls.source = call_leads.source
            and qualified_calls.call_id = call_leads.call_id
    where {{ from_boundary(
        'qualified_calls.started_at',
        dbt.dateadd('day', '-1', rebuild_from('qualified_calls.funnel_id'))
    ) }}
),

unioned as (
    select * from created_entries
    union all
    select * from crm_entries
    union all
    select * from status_entries
    union all
    select * from won_sightings
    union all
    select * from linked_call_entries
    union all
    select * from call_lead_entries
),

-- Each entity's anchor: one row per entity, joined back, instead of a window that would
-- sort every entry with all its columns.
anchors as (
    select
        funnel_id,
        entity_id,
        min(entered_at) as anchor_at
    from unioned
    group by funnel_id, entity_id
),

anchored as (
    select
        unioned.*,
        anchors.anchor_at
    from unioned
    inner join anchors
        on
            unioned.funnel_id = anchors.funnel_id
            and unioned.entity_id = anchors.entity_id
),

{% if is_incremental() %}
kept_entities as (
    select distinct
        funnel_id,
        entity_id
    from {{ this }}
    where cohort_month < {{ rebuild_from('funnel_id') }}
),
{% endif %}

final as (
    select
        anchored.funnel_id,
        anchored.entity_id,
        anchored.stage_key,
        anchored.stage_order,
        anchored.entered_at,
        anchored.entered_by,
        anchored.is_exact,
        anchored.entry_kind,
        anchored.anchor_at,
        {{ local_month('anchored.anchor_at') }} as cohort_month
    from anchored
    {% if is_incremental() %}
        left join kept_entities
            on
                anchored.funnel_id = kept_entities.funnel_id
                and anchored.entity_id = kept_entities.entity_id
        where
            kept_entities.entity_id is null
            and {{ local_month('anchored.anchor_at') }} >= {{ rebuild_from('anchored.funnel_id') }}
    {% endif %}
)

select * from final
order by cohort_month
