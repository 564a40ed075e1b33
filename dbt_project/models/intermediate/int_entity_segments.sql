-- Which segment of each configured segment type an entity belongs to. Custom types
-- read the deal attribute the config names, so a new segment needs no SQL.
-- Incremental by cohort month (macros/incremental.sql).
{{ incremental_months('cohort_month', 'rebuild_from', 'funnel_id') }}

with

entities as (
    select * from {{ ref('int_entities_described') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

segment_types as (
    select * from {{ ref('stg_landing__config_segments') }}
),

-- The attributes the segment types read, per deal (kept as built without a new CRM file).
entity_attributes as (
    select * from {{ ref('int_deal_segment_attributes') }}
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
