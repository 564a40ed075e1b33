-- Call records, once each: rotated PBX logs overlap, and of two copies of a call the later
-- arrival wins (a corrected re-export of the log). The client's phone only as its keyed
-- hash: raw phones stay in landing. A table, incremental by UTC call
-- month (macros/incremental.sql): every call model reads it, so the dedupe runs once,
-- and only over the months a run recomputes. A call id repeated in two different months
-- (never seen in a real log) would be kept in both months until a full refresh.
{{ incremental_months('call_month', calls_rebuild_from()) }}

with

source as (
    select * from {{ source('landing', 'calls') }}
    where
        {{ landing_months_from(boundaries('calls_rebuild_from')) }}
        and {{ from_boundary('started_at', calls_rebuild_from()) }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

ranked as (
    select
        calls.source,
        calls.call_id,
        calls.line,
        {{ as_utc('calls.started_at') }} as started_at,
        {{ as_utc('calls.answered_at') }} as answered_at,
        {{ as_utc('calls.ended_at') }} as ended_at,
        calls.direction,
        calls.client_phone_hash,
        calls.manager,
        calls.talk_s,
        calls.disposition,
        calls.file_id,
        cast({{ dbt.date_trunc('month', as_utc('calls.started_at')) }} as date) as call_month,
        row_number() over (
            partition by calls.source, calls.call_id
            order by arrivals.received_at desc, arrivals.path desc, calls.file_id asc
        ) as copy_rank
    from source as calls
    left join arrivals
        on calls.file_id = arrivals.file_id
),

final as (
    select
        source,
        call_id,
        line,
        started_at,
        answered_at,
        ended_at,
        direction,
        client_phone_hash,
        manager,
        talk_s,
        disposition,
        file_id,
        call_month
    from ranked
    where copy_rank = 1
)

select * from final
