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

calls as (
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
        cast({{ dbt.date_trunc('month', as_utc('calls.started_at')) }} as date) as call_month
    from source as calls
),

-- Almost every call has one copy: only the ids seen more than once are ranked (a window
-- over all the calls would sort them all).
copied_ids as (
    select
        source,
        call_id
    from source
    group by source, call_id
    having count(*) > 1
),

single_copies as (
    select
        calls.*,
        1 as copy_rank
    from calls
    left join copied_ids
        on
            calls.source = copied_ids.source
            and calls.call_id = copied_ids.call_id
    where copied_ids.call_id is null
),

ranked_copies as (
    select
        calls.*,
        row_number() over (
            partition by calls.source, calls.call_id
            order by arrivals.received_at desc, arrivals.path desc, calls.file_id asc
        ) as copy_rank
    from calls
    inner join copied_ids
        on
            calls.source = copied_ids.source
            and calls.call_id = copied_ids.call_id
    left join arrivals
        on calls.file_id = arrivals.file_id
),

ranked as (
    select * from single_copies
    union all
    select * from ranked_copies
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
