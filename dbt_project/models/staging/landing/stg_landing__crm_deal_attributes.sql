-- A deal's extra mapped columns as of its latest snapshot.
with

attributes as (
    select * from {{ source('landing', 'crm_deal_attributes') }}
),

deals as (
    select * from {{ ref('stg_landing__crm_deals') }}
),

final as (
    select distinct
        attributes.source,
        attributes.deal_id,
        attributes.name,
        attributes.value
    from attributes
    inner join deals
        on
            attributes.source = deals.source
            and attributes.deal_id = deals.deal_id
            and attributes.file_id = deals.file_id
)

select * from final
