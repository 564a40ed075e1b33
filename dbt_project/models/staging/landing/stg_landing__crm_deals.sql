-- The latest snapshot of every deal: an overlapping re-export updates the deal, never doubles it.
-- Of two exports with the same snapshot time, the later arrival wins (stg_landing__crm_deal_snapshots
-- keeps one row per deal and snapshot time).
-- A table, not a view: half the project reads it. Kept as built when no CRM file is new
-- (macros/incremental_files.sql).
{{ kept_without_new_crm_files() }}

with

snapshots as (
    select * from {{ ref('stg_landing__crm_deal_snapshots') }}
    where {{ crm_changed() }}
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
        lost_reason,
        snapshot_at,
        file_id
    from ranked
    where snapshot_rank = 1
)

select * from final
