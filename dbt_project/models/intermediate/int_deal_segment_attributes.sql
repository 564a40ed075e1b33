-- The deal attributes the funnels' custom segment types read (stg_landing__config_segments
-- `attribute`), once per funnel and deal: one row per funnel, deal and attribute, with its
-- value (the greater of two the deal's latest snapshot gives). Only those attributes: a
-- deal's others, such as its name, would be grouped for nothing.
-- Tagged crm_and_config: a run with no new CRM file leaves it as the previous build wrote it
-- (pipeline/incremental.py).
with

deals as (
    select * from {{ ref('int_deals_joined_to_funnels') }}
),

attributes as (
    select * from {{ ref('stg_landing__crm_deal_attributes') }}
),

segment_types as (
    select * from {{ ref('stg_landing__config_segments') }}
),

segment_attributes as (
    select distinct
        funnel_id,
        attribute
    from segment_types
    where attribute is not null
),

final as (
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
)

select * from final
