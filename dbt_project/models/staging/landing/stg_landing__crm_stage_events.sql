-- The exact stage entries read from files (history files, stage-date columns), once each:
-- overlapping history exports repeat the same entry (the later arrival wins). Entries
-- inferred from snapshots are a model (int_stage_entries_inferred); landing rows with
-- is_exact false are what ingest wrote before it moved there (it rewrote landing after
-- each run), left out: the model recomputes them. A table, not a view: several models
-- read it, and the ranking would otherwise run per reader.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('landing', 'crm_stage_events') }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

ranked as (
    select
        events.source,
        events.deal_id,
        events.stage,
        {{ as_utc('events.entered_at') }} as entered_at,
        {{ as_utc('events.entered_after') }} as entered_after,
        events.is_exact,
        events.manager,
        events.file_id,
        row_number() over (
            partition by events.source, events.deal_id, events.stage, events.entered_at
            order by
                arrivals.received_at desc,
                arrivals.path desc,
                events.file_id desc
        ) as copy_rank
    from source as events
    left join arrivals
        on events.file_id = arrivals.file_id
    where events.is_exact
),

final as (
    select
        source,
        deal_id,
        stage,
        entered_at,
        entered_after,
        is_exact,
        manager,
        file_id
    from ranked
    where copy_rank = 1
)

select * from final
