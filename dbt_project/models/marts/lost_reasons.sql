-- Lost deals by the month they were closed, the last stage they reached under the
-- funnel's reach policy, and the reason the CRM gives.
with

entities as (
    select * from {{ ref('int_entities_described') }}
    where entity_kind = 'deal' and status = 'lost'
),

reached as (
    select * from {{ ref('int_entity_stages_reached') }}
    where reached_at is not null
),

segments as (
    select * from {{ ref('int_entity_segments') }}
),

furthest_orders as (
    select
        funnel_id,
        entity_id,
        max(stage_order) as stage_order
    from reached
    group by funnel_id, entity_id
),

last_stages as (
    select
        furthest_orders.funnel_id,
        furthest_orders.entity_id,
        reached.stage_key
    from furthest_orders
    inner join reached
        on
            furthest_orders.funnel_id = reached.funnel_id
            and furthest_orders.entity_id = reached.entity_id
            and furthest_orders.stage_order = reached.stage_order
),

lost_deals as (
    select
        entities.funnel_id,
        entities.entity_id,
        {{ local_month('entities.closed_at') }} as month,
        -- Under `strict` a deal may reach no stage at all; it is still a lost deal.
        coalesce(last_stages.stage_key, '(none)') as stage_key,
        coalesce(nullif(trim(entities.lost_reason), ''), '(not given)') as reason
    from entities
    left join last_stages
        on
            entities.funnel_id = last_stages.funnel_id
            and entities.entity_id = last_stages.entity_id
),

final as (
    select
        lost_deals.funnel_id,
        lost_deals.month,
        segments.segment_type,
        segments.segment,
        lost_deals.stage_key,
        lost_deals.reason,
        cast(count(*) as {{ dbt.type_bigint() }}) as deals
    from lost_deals
    inner join segments
        on
            lost_deals.funnel_id = segments.funnel_id
            and lost_deals.entity_id = segments.entity_id
    group by
        lost_deals.funnel_id,
        lost_deals.month,
        segments.segment_type,
        segments.segment,
        lost_deals.stage_key,
        lost_deals.reason
)

select * from final
