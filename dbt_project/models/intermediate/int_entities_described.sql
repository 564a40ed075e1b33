-- One row per funnel entity (deal or call lead) with what segments and cohorts need:
-- its anchor (earliest recorded stage entry), cohort month, owner, source and outcome.
-- Incremental by cohort month (macros/incremental.sql).
{{ incremental_months('cohort_month', 'rebuild_from', 'funnel_id') }}

with

entries as (
    select * from {{ ref('int_stage_entries_unioned') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

deals as (
    select * from {{ ref('int_deals_joined_to_funnels') }}
),

call_leads as (
    select * from {{ ref('int_call_leads_sessionized') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

anchors as (
    select
        funnel_id,
        entity_id,
        cohort_month,
        min(anchor_at) as anchor_at
    from entries
    group by funnel_id, entity_id, cohort_month
),

deal_entities as (
    select
        funnel_id,
        entity_id,
        'deal' as entity_kind,
        manager,
        lead_source,
        status,
        closed_at,
        closed_by,
        -- the close's time is known: a close date, or the export of the deal's creation
        -- instant showed it closed (the sighting's bounds meet); otherwise closed_by is an
        -- export's time, the close happened before it (macros/time.sql happened_by)
        coalesce(closed_at is not null or closed_by <= created_at, false) as is_closed_exactly,
        amount,
        lost_reason
    from deals
),

call_lead_entities as (
    select distinct
        funnel_id,
        entity_id,
        'call_lead' as entity_kind,
        manager,
        cast(null as {{ dbt.type_string() }}) as lead_source,
        'open' as status,
        cast(null as {{ dbt.type_timestamp() }}) as closed_at,
        cast(null as {{ dbt.type_timestamp() }}) as closed_by,
        false as is_closed_exactly,
        cast(null as {{ type_double() }}) as amount,
        cast(null as {{ dbt.type_string() }}) as lost_reason
    from call_leads
),

described as (
    select * from deal_entities
    union all
    select * from call_lead_entities
),

final as (
    select
        described.funnel_id,
        described.entity_id,
        described.entity_kind,
        described.manager,
        described.lead_source,
        described.status,
        described.closed_at,
        described.closed_by,
        described.is_closed_exactly,
        described.amount,
        described.lost_reason,
        anchors.anchor_at,
        anchors.cohort_month
    from described
    inner join anchors
        on
            described.funnel_id = anchors.funnel_id
            and described.entity_id = anchors.entity_id
)

select * from final
order by cohort_month
