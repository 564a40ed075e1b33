-- The latest snapshot of every deal: an overlapping re-export updates the deal, never doubles it.
-- A table, not a view: half the project reads it, and the ranking over every export's
-- rows would otherwise run once per reader.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('landing', 'crm_deals') }}
),

ranked as (
    select
        source,
        deal_id,
        crm_pipeline,
        stage,
        status,
        {{ as_utc('created_at') }} as created_at,
        {{ as_utc('closed_at') }} as closed_at,
        manager,
        lead_source,
        amount,
        currency,
        lost_reason,
        {{ as_utc('snapshot_at') }} as snapshot_at,
        file_id,
        row_number() over (
            partition by source, deal_id
            order by snapshot_at desc, file_id desc
        ) as snapshot_rank
    from source
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
