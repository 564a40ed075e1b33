-- Call records, once each: rotated PBX logs overlap.
with

source as (
    select * from {{ source('landing', 'calls') }}
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
        file_id
    from ranked
    where copy_rank = 1
)

select * from final
