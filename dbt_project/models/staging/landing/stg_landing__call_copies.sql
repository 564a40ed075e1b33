-- The calls that landed more than once, every copy, and the one stg_landing__calls keeps:
-- rotated PBX logs overlap and a corrected re-export repeats its calls; of two copies the
-- later arrival (the ledger's received_at, then path) wins, then the smaller file_id. Of
-- copies in one file (Asterisk logs a ring group's legs under one uniqueid, one per agent
-- rung) the answered one wins, then the longest talk, then the earliest start, then the
-- smallest values: every build keeps the same copy.
-- About one call in a thousand: stg_landing__calls, a view, passes every other landed call
-- through as it is and takes these from here, so the dedupe runs once per build and no
-- copy of all the calls is written. Incremental by the UTC call month, the landing month
-- folder the copy lies in (macros/incremental.sql): the copies of the months a run
-- recomputes are ranked among themselves. A call id repeated in two different months
-- (never seen in a real log) would be kept in both months until a full refresh.
{{ incremental_months('call_month', 'calls_rebuild_from') }}

{#- The landing rows of the months this run replaces: a filter on the month folder, so
    only those months' files are opened. The two readers below each name the source
    themselves: a CTE read twice is materialized whole (all ten million calls) before
    either reader starts. -#}
{%- set landing_calls_in_scope = from_boundary(partition_month('calls.month'), calls_rebuild_from()) %}

with

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

-- Two columns read for the count.
copied_ids as (
    select
        calls.source,
        calls.call_id
    from {{ source('landing', 'calls') }} as calls
    where {{ landing_calls_in_scope }}
    group by calls.source, calls.call_id
    having count(*) > 1
),

ranked_copies as (
    select
        calls.source,
        calls.call_id,
        calls.line,
        calls.started_at,
        calls.direction,
        calls.client_phone_hash,
        calls.manager,
        calls.talk_s,
        calls.disposition,
        calls.file_id,
        calls.month,
        row_number() over (
            partition by calls.source, calls.call_id
            order by
                arrivals.received_at desc,
                arrivals.path desc,
                calls.file_id asc,
                case when calls.disposition = 'answered' then 0 else 1 end asc,
                calls.talk_s desc nulls last,
                calls.started_at asc nulls last,
                calls.manager asc nulls last,
                calls.line asc nulls last,
                calls.direction asc nulls last,
                calls.client_phone_hash asc nulls last,
                calls.disposition asc nulls last
        ) as copy_rank
    from {{ source('landing', 'calls') }} as calls
    inner join copied_ids
        on
            calls.source = copied_ids.source
            and calls.call_id = copied_ids.call_id
    left join arrivals
        on calls.file_id = arrivals.file_id
    where {{ landing_calls_in_scope }}
),

final as (
    select
        source,
        call_id,
        line,
        {{ as_utc('started_at') }} as started_at,
        direction,
        client_phone_hash,
        manager,
        talk_s,
        disposition,
        file_id,
        copy_rank = 1 as is_kept,
        {{ partition_month('month') }} as call_month
    from ranked_copies
)

select * from final
order by call_month
