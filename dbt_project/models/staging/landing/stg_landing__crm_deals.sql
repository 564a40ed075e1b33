-- The latest snapshot of every deal: an overlapping re-export updates the deal, never doubles it.
-- Of two exports with the same snapshot time, the later arrival wins (stg_landing__crm_deal_snapshots
-- keeps one row per deal and snapshot time).
-- A table, not a view: half the project reads it.
-- Tagged crm_and_config: a run with no new CRM file leaves it as the previous build wrote it
-- (pipeline/incremental.py).
{{ config(materialized='table') }}

with

snapshots as (
    select * from {{ ref('stg_landing__crm_deal_snapshots') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by source, deal_id
            order by snapshot_at desc
        ) as snapshot_rank
    from snapshots
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
        is_other_currency,
        lost_reason,
        snapshot_at,
        file_id
    from ranked
    where snapshot_rank = 1
)

select * from final
