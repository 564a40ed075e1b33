-- Call records, once each (stg_landing__call_copies: of two copies the later arrival
-- wins). The client's phone only as its keyed hash: raw phones stay in landing, and so do
-- answered_at and ended_at, which no model reads (disposition and talk_s say what they
-- would). A view over landing: every call that landed once passes through as it is, and
-- of the few that landed more than once the copy stg_landing__call_copies keeps. At ten
-- million calls, writing them into a table cost more than the readers' scans of landing
-- (docs/performance.md; at a million, a little less).
-- call_month is the landing month folder (the UTC month of started_at), so a reader's
-- filter on it opens only those months' files.
{{ config(materialized='view') }}

{#- Both branches below name stg_landing__call_copies themselves: a CTE read twice is
    materialized, and with no estimate of its size DuckDB built the anti join's hash table
    over the ten million calls instead (int_calls_qualified: 17 s against 3 s). -#}

with

-- A copy's other copies of the same month are in stg_landing__call_copies too, kept or
-- not: left out here.
single_copies as (
    select
        calls.source,
        calls.call_id,
        calls.line,
        {{ as_utc('calls.started_at') }} as started_at,
        calls.direction,
        calls.client_phone_hash,
        calls.manager,
        calls.talk_s,
        calls.disposition,
        calls.file_id,
        {{ partition_month('calls.month') }} as call_month
    from {{ source('landing', 'calls') }} as calls
    left join {{ ref('stg_landing__call_copies') }} as copies
        on
            calls.source = copies.source
            and calls.call_id = copies.call_id
            and {{ partition_month('calls.month') }} = copies.call_month
    where copies.call_id is null
),

kept_copies as (
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
        file_id,
        call_month
    from {{ ref('stg_landing__call_copies') }}
    where is_kept
),

final as (
    select * from single_copies
    union all
    select * from kept_copies
)

select * from final
