-- The latest event or snapshot time among each file's landed rows: the month a file's
-- data belongs to (received_at is only the ingest clock). Reads every copy of every row
-- (stg_landing__file_event_times), not the de-duplicated staging tables: those keep one
-- copy of each deal and call, so an older snapshot file would lose its rows there.
with

row_times as (
    select * from {{ ref('stg_landing__file_event_times') }}
),

final as (
    select
        file_id,
        max(event_at) as latest_event_at
    from row_times
    group by file_id
)

select * from final
