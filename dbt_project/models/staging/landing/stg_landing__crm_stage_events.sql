-- The exact stage entries read from files (history files, stage-date columns), once each:
-- overlapping history exports repeat the same entry (the later arrival wins). Entries
-- inferred from snapshots are a model (int_stage_entries_inferred); landing rows with
-- is_exact false are what ingest wrote before it moved there (it rewrote landing after
-- each run), left out: the model recomputes them. A table, not a view: several models
-- read it, and the de-duplication would otherwise run per reader.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('landing', 'crm_stage_events') }}
),

files as (
    select * from {{ ref('stg_landing__files') }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

-- Each file's place in the arrival order (received_at, then path, then file_id; a file
-- that never loaded comes first): of an entry's copies, the one from the highest place
-- wins, as a ranking by received_at, path and file_id, each descending, would pick.
-- Placing the few files once lets one group-by keep each entry's winning copy, instead
-- of a window sorting every landing row (cumulative history exports repeat most entries).
file_places as (
    select
        file_ids.file_id,
        row_number() over (
            order by
                arrivals.received_at asc nulls first,
                arrivals.path asc nulls first,
                file_ids.file_id asc
        ) as arrival_place
    from (select distinct file_id from files) as file_ids
    left join arrivals
        on file_ids.file_id = arrivals.file_id
),

placed as (
    select
        events.source,
        events.deal_id,
        events.stage,
        events.entered_at,
        events.entered_after,
        events.manager,
        events.file_id,
        coalesce(file_places.arrival_place, 0) as arrival_place
    from source as events
    left join file_places
        on events.file_id = file_places.file_id
    where events.is_exact
),

final as (
    select
        source,
        deal_id,
        stage,
        {{ as_utc('entered_at') }} as entered_at,
        max_by({{ as_utc('entered_after') }}, arrival_place) as entered_after,
        true as is_exact,
        max_by(manager, arrival_place) as manager,
        max_by(file_id, arrival_place) as file_id
    from placed
    group by source, deal_id, stage, entered_at
)

select * from final
