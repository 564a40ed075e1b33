-- Every export snapshot of every deal: what an "as of" cut may know of a deal's amount
-- (funnel_forecast's backtest takes the latest snapshot at or before its moment, never a
-- later one), the sightings stage entries are inferred from (int_stage_entries_inferred),
-- and the latest snapshot of each deal (stg_landing__crm_deals).
-- Of two exports with the same snapshot time, the later arrival wins (as in
-- stg_landing__crm_deals). An export that lists a deal twice: the row with the smallest
-- values (stage, then status, pipeline, times, manager, …), so every build keeps the same.
-- A table, not a view: four models read it (stg_landing__crm_deals,
-- int_stage_entries_inferred, int_forecast_deal_periods, int_forecasts_estimated), and a
-- view would read the landing parquet and rank the exports once for each.
-- Incremental by file (macros/incremental_files.sql): a run ranks the new files' rows and
-- replaces the snapshots they hold (every new file arrived after every built one, so its
-- row wins), keeping every other snapshot as built.
{{ incremental_files(['source', 'deal_id', 'snapshot_at']) }}

with

source as (
    select * from {{ source('landing', 'crm_deals') }}
    where {{ of_new_files('file_id') }}
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
            partition by deals.source, deals.deal_id, deals.snapshot_at
            order by
                arrivals.received_at desc,
                arrivals.path desc,
                deals.file_id desc,
                deals.stage asc nulls last,
                deals.status asc nulls last,
                deals.crm_pipeline asc nulls last,
                deals.created_at asc nulls last,
                deals.closed_at asc nulls last,
                deals.manager asc nulls last,
                deals.lead_source asc nulls last,
                deals.amount asc nulls last,
                deals.currency asc nulls last,
                deals.lost_reason asc nulls last
        ) as arrival_rank
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
    where arrival_rank = 1
)

select * from final
