-- Which segment of each configured segment type an entity belongs to. Custom types
-- read the deal attribute the config names, so a new segment needs no SQL.
-- Incremental by cohort month (macros/incremental.sql).
{{ incremental_months('cohort_month', rebuild_from('funnel_id')) }}

with

entities as (
    select * from {{ ref('int_entities_described') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

deals as (
    select * from {{ ref('int_deals_joined_to_funnels') }}
),

attributes as (
    select * from {{ ref('stg_landing__crm_deal_attributes') }}
),

segment_types as (
    select * from {{ ref('stg_landing__config_segments') }}
),

-- The attributes a funnel's segment types read, once each: only those are looked up (a
-- deal's other attributes, such as its name, would be grouped for nothing).
segment_attributes as (
    select distinct
        funnel_id,
        attribute
    from segment_types
    where attribute is not null
),

entity_attributes as (
    select
        deals.funnel_id,
        deals.entity_id,
        attributes.name,
        max(attributes.value) as value
    from deals
    inner join attributes
        on
            deals.source = attributes.source
            and deals.deal_id = attributes.deal_id
    inner join segment_attributes
        on
            deals.funnel_id = segment_attributes.funnel_id
            and attributes.name = segment_attributes.attribute
    group by deals.funnel_id, deals.entity_id, attributes.name
),

final as (
    select
        entities.funnel_id,
        entities.entity_id,
        segment_types.segment_type,
        coalesce(
            case segment_types.segment_type
                when 'total' then 'all'
                when 'manager' then entities.manager
                when 'lead_source' then entities.lead_source
                else entity_attributes.value
            end,
            '(unknown)'
        ) as segment,
        entities.cohort_month
    from entities
    inner join segment_types
        on entities.funnel_id = segment_types.funnel_id
    left join entity_attributes
        on
            entities.funnel_id = entity_attributes.funnel_id
            and entities.entity_id = entity_attributes.entity_id
            and segment_types.attribute = entity_attributes.name
)

select * from final
order by cohort_month
