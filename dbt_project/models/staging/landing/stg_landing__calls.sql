-- Call records, once each: rotated PBX logs overlap, and of two copies of a call the later
-- arrival wins (a corrected re-export of the log). The client's phone only as its keyed
-- hash: raw phones stay in landing, and so do answered_at and ended_at, which no model
-- reads (disposition and talk_s say what they would). A table, incremental by UTC call
-- month (macros/incremental.sql): every call model reads it, so the dedupe runs once,
-- and only over the months a run recomputes. A call id repeated in two different months
-- (never seen in a real log) would be kept in both months until a full refresh.
{{ incremental_months('call_month', calls_rebuild_from()) }}

{#- The landing rows of the months this run recomputes. The three readers below each name
    the source themselves: a CTE read twice is materialized whole (all ten million calls)
    before either reader starts. -#}
{%- set landing_calls_in_scope -%}
    {{ landing_months_from(boundaries('calls_rebuild_from')) }}
    and {{ from_boundary('calls.started_at', calls_rebuild_from()) }}
{%- endset %}

with

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

-- Almost every call has one copy: only the ids seen more than once are ranked (a window
-- over all the calls would sort them all). Two columns read for the count.
copied_ids as (
    select
        calls.source,
        calls.call_id
    from {{ source('landing', 'calls') }} as calls
    where {{ landing_calls_in_scope }}
    group by calls.source, calls.call_id
    having count(*) > 1
),

single_copies as (
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
        calls.file_id
    from {{ source('landing', 'calls') }} as calls
    left join copied_ids
        on
            calls.source = copied_ids.source
            and calls.call_id = copied_ids.call_id
    where
        copied_ids.call_id is null
        and {{ landing_calls_in_scope }}
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
        row_number() over (
            partition by calls.source, calls.call_id
            order by arrivals.received_at desc, arrivals.path desc, calls.file_id asc
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

deduped as (
    select * from single_copies
    union all
    select
        source,
        call_id,
        line,
        started_at,
        direction,
        client_phone_hash,
        manager,
        talk_s,
        disposition,
        file_id
    from ranked_copies
    where copy_rank = 1
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
        cast({{ dbt.date_trunc('month', as_utc('started_at')) }} as date) as call_month
    from deduped
)

select * from final
