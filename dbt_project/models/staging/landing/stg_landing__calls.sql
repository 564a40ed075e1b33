-- Call records, once each: rotated PBX logs overlap. A table, incremental by UTC call
-- month (macros/incremental.sql): every call model reads it, so the dedupe runs once,
-- and only over the months a run recomputes. A call id repeated in two different months
-- (never seen in a real log) would be kept in both months until a full refresh.
{{ incremental_months('call_month', calls_rebuild_from()) }}

with

source as (
    select * from {{ source('landing', 'calls') }}
    where
        {{ landing_months_from(var('calls_rebuild_from', none)) }}
        and {{ from_boundary('started_at', calls_rebuild_from()) }}
),

ranked as (
    select
        source,
        call_id,
        line,
        {{ as_utc('started_at') }} as started_at,
        {{ as_utc('answered_at') }} as answered_at,
        {{ as_utc('ended_at') }} as ended_at,
        direction,
        client_phone,
        client_phone_hash,
        manager,
        talk_s,
        disposition,
        file_id,
        cast({{ dbt.date_trunc('month', as_utc('started_at')) }} as date) as call_month,
        row_number() over (partition by source, call_id order by file_id) as copy_rank
    from source
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
        client_phone,
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
