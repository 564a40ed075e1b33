-- Lost deals by the month they were closed (closed_by: the close date, else the first
-- export that showed the deal lost for good, of the second before it: as revenue_monthly
-- counts them), the last
-- stage they reached under the funnel's reach policy, and the reason the CRM gives.
-- Incremental (macros/lost_months.sql): with no new CRM file a run recomputes the months
-- in which a recomputed lost deal was closed, and keeps the others.
{{ incremental_lost_months() }}
with

lost_entities as (
    select
        *,
        {{ closed_month() }} as closed_month
    from {{ ref('int_entities_described') }}
    where entity_kind = 'deal' and status = 'lost'
),

-- The lost deals of the months this run recomputes (the month as a column: the subquery
-- then correlates on the few distinct months, not on every close time).
entities as (
    select * from lost_entities
    where {{ lost_months_recomputed('lost_entities.funnel_id', 'lost_entities.closed_month') }}
),

reached as (
    select * from {{ ref('int_entity_stages_reached') }}
    where reached_at is not null
),

-- The reaches of the lost deals only: their furthest stage is all this model needs (the
-- other entities' reaches would be grouped for nothing).
lost_reached as (
    select
        reached.funnel_id,
        reached.entity_id,
        reached.stage_order,
        reached.stage_key
    from reached
    inner join entities
        on
            reached.funnel_id = entities.funnel_id
            and reached.entity_id = entities.entity_id
),

segments as (
    select * from {{ ref('int_entity_segments') }}
),

furthest_orders as (
    select
        funnel_id,
        entity_id,
        max(stage_order) as stage_order
    from lost_reached
    group by funnel_id, entity_id
),

last_stages as (
    select
        furthest_orders.funnel_id,
        furthest_orders.entity_id,
        lost_reached.stage_key
    from furthest_orders
    inner join lost_reached
        on
            furthest_orders.funnel_id = lost_reached.funnel_id
            and furthest_orders.entity_id = lost_reached.entity_id
            and furthest_orders.stage_order = lost_reached.stage_order
),

lost_deals as (
    select
        entities.funnel_id,
        entities.entity_id,
        entities.closed_month as month,
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
