-- One manager's lost deals whose last reached stage is a given stage, with the reasons:
-- what to talk about in the one-to-one. Compile with
--   dbt compile --select manager_lost_deals_at_stage --vars '{manager: "Васильев Олег", stage_key: measurer_visit}'
-- and run the SQL in target/compiled/… against the warehouse (read-only).
with

entities as (
    select * from {{ ref('funnel_entities') }}
),

deals as (
    select * from {{ ref('int_deals_joined_to_funnels') }}
),

last_stage as (
    select
        funnel_id,
        entity_id,
        max(stage_order) as last_stage_order
    from entities
    group by funnel_id, entity_id
)

select
    deals.funnel_id,
    deals.deal_id,
    deals.created_at,
    deals.closed_at,
    coalesce(deals.lost_reason, '(not given)') as lost_reason,
    entities.stage_key as last_stage
from deals
inner join last_stage
    on deals.funnel_id = last_stage.funnel_id and deals.entity_id = last_stage.entity_id
inner join entities
    on
        last_stage.funnel_id = entities.funnel_id
        and last_stage.entity_id = entities.entity_id
        and last_stage.last_stage_order = entities.stage_order
where
    deals.status = 'lost'
    and deals.manager = '{{ var("manager", "Васильев Олег") }}'
    and entities.stage_key = '{{ var("stage_key", "measurer_visit") }}'
order by deals.closed_at desc
