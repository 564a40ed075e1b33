-- The latest snapshot of every deal: an overlapping re-export updates the deal, never doubles it.
-- Of two exports with the same snapshot time, the later arrival wins.
-- A table, not a view: half the project reads it, and the ranking over every export's
-- rows would otherwise run once per reader.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('landing', 'crm_deals') }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

ranked as (
    select
        deals.source,
        deals.deal_id,
        deals.crm_pipeline,
        deals.stage,
        deals.status,
        {{ as_utc('deals.created_at') }} as created_at,
        {{ as_utc('deals.closed_at') }} as closed_at,
        deals.manager,
        deals.lead_source,
        deals.amount,
        deals.currency,
        deals.lost_reason,
        {{ as_utc('deals.snapshot_at') }} as snapshot_at,
        deals.file_id,
        row_number() over (
            partition by deals.source, deals.deal_id
            order by
                deals.snapshot_at desc,
                arrivals.received_at desc,
                arrivals.path desc,
                deals.file_id desc
        ) as snapshot_rank
    from source as deals
    left join arrivals
        on deals.file_id = arrivals.file_id
),

final as (
    select
        source,
        deal_id,
        crm_pipeline,
        stage,
        status,
        created_at,
        closed_at,
        manager,
        lead_source,
        amount,
        currency,
        lost_reason,
        snapshot_at,
        file_id
    from ranked
    where snapshot_rank = 1
)

select * from final
