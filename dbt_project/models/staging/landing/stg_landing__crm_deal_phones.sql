-- A deal's phones as of its latest snapshot, by their keyed hash: raw phones stay in landing.
with

phones as (
    select * from {{ source('landing', 'crm_deal_phones') }}
),

deals as (
    select * from {{ ref('stg_landing__crm_deals') }}
),

final as (
    select distinct
        phones.source,
        phones.deal_id,
        phones.client_phone_hash
    from phones
    inner join deals
        on
            phones.source = deals.source
            and phones.deal_id = deals.deal_id
            and phones.file_id = deals.file_id
)

select * from final
