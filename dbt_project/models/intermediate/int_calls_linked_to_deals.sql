-- Each qualifying call, linked to a deal of the same funnel and phone where the rule
-- says so (docs/contracts.md "Entities"): a call while a deal is open belongs to that deal
-- (open: created, and not closed by then; closed_by for a deal closed with no close
-- date); otherwise to the deal created earliest in [call, call + link_days]. NULL: unlinked.
-- Incremental by UTC call month (macros/incremental.sql): deals are read whole, so a
-- recomputed month sees every deal a call of it can link to.
{{ incremental_months('call_month', 'links_rebuild_from', 'funnel_id') }}

with

-- Each call once: its row of the lowest call stage it qualifies for (a stage's order is
-- unique in its funnel). An anti join on the three key columns, not a distinct over all
-- seven, the phone hash among them.
calls as (
    select
        qualified.funnel_id,
        qualified.source,
        qualified.call_id,
        qualified.started_at,
        qualified.client_phone_hash,
        qualified.manager,
        qualified.call_month
    from {{ ref('int_calls_qualified') }} as qualified
    left join {{ ref('int_calls_qualified') }} as earlier_stage
        on
            qualified.funnel_id = earlier_stage.funnel_id
            and qualified.source = earlier_stage.source
            and qualified.call_id = earlier_stage.call_id
            and qualified.stage_order > earlier_stage.stage_order
            and {{ from_boundary('earlier_stage.call_month', links_rebuild_from('earlier_stage.funnel_id')) }}
    where
        earlier_stage.call_id is null
        and {{ from_boundary('qualified.call_month', links_rebuild_from('qualified.funnel_id')) }}
),

deals as (
    select * from {{ ref('int_deals_joined_to_funnels') }}
),

phones as (
    select * from {{ ref('stg_landing__crm_deal_phones') }}
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

candidates as (
    select
        calls.funnel_id,
        calls.source,
        calls.call_id,
        deals.entity_id,
        deals.created_at,
        case when deals.created_at <= calls.started_at then 0 else 1 end as link_priority
    from calls
    inner join funnels
        on calls.funnel_id = funnels.funnel_id
    inner join phones
        on calls.client_phone_hash = phones.client_phone_hash
    inner join deals
        on
            phones.source = deals.source
            and phones.deal_id = deals.deal_id
            and calls.funnel_id = deals.funnel_id
    where
        (
            deals.created_at <= calls.started_at
            and (deals.closed_by is null or calls.started_at <= deals.closed_by)
        )
        or (
            deals.created_at > calls.started_at
            and deals.created_at
            <= {{ dbt.dateadd('day', 'funnels.link_days', 'calls.started_at') }}
        )
),

ranked as (
    select
        funnel_id,
        source,
        call_id,
        entity_id,
        row_number() over (
            partition by funnel_id, source, call_id
            order by
                link_priority asc,
                case when link_priority = 0 then created_at end desc,
                created_at,
                entity_id asc
        ) as link_rank
    from candidates
),

final as (
    select
        calls.funnel_id,
        calls.source,
        calls.call_id,
        calls.started_at,
        calls.client_phone_hash,
        calls.manager,
        ranked.entity_id as deal_entity_id,
        calls.call_month
    from calls
    left join ranked
        on
            calls.funnel_id = ranked.funnel_id
            and calls.source = ranked.source
            and calls.call_id = ranked.call_id
            and ranked.link_rank = 1
)

select * from final
order by call_month
