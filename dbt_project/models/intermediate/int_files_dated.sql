-- The latest event or snapshot time among each file's landed rows: the month a file's
-- data belongs to (received_at is only the ingest clock). Reads the landing sources, not
-- staging: staging keeps one copy of each deal and call, so an older snapshot file would
-- lose its rows there.
with

deals as (
    select * from {{ source('landing', 'crm_deals') }}
),

events as (
    select * from {{ source('landing', 'crm_stage_events') }}
),

calls as (
    select * from {{ source('landing', 'calls') }}
),

row_times as (
    select
        file_id,
        {{ as_utc('snapshot_at') }} as event_at
    from deals
    union all
    select
        file_id,
        {{ as_utc('created_at') }} as event_at
    from deals
    union all
    select
        file_id,
        {{ as_utc('closed_at') }} as event_at
    from deals
    union all
    select
        file_id,
        {{ as_utc('entered_at') }} as event_at
    from events
    union all
    select
        file_id,
        {{ as_utc('started_at') }} as event_at
    from calls
),

final as (
    select
        file_id,
        max(event_at) as latest_event_at
    from row_times
    group by file_id
)

select * from final
