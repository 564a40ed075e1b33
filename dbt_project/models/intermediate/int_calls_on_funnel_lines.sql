-- Calls on each funnel's lines from a known client phone that is not excluded: what both
-- the call stages (int_calls_qualified) and the missed-call leaks
-- (int_calls_missed_classified) start from. One row per funnel and call. A view: each
-- reader filters it to the call months it recomputes, which reaches the calls table.
{{ config(materialized='view') }}

with

calls as (
    select * from {{ ref('stg_landing__calls') }}
),

lines as (
    select * from {{ ref('stg_landing__config_funnel_lines') }}
),

-- Per funnel and source: whether the funnel takes every line of the source (a NULL
-- line), and apart the named lines once each, so that a call matches each funnel at
-- most once without a distinct over the calls: a call is one row of the calls
-- (unique source and call_id), a funnel one row of funnel_sources, and the left join
-- to named_lines finds at most one row.
funnel_sources as (
    select
        funnel_id,
        source,
        max(case when line is null then 1 else 0 end) as takes_every_line
    from lines
    group by funnel_id, source
),

named_lines as (
    select distinct
        funnel_id,
        source,
        line
    from lines
    where line is not null
),

excluded as (
    select * from {{ ref('stg_landing__config_exclude_phones') }}
),

final as (
    select
        funnel_sources.funnel_id,
        calls.source,
        calls.call_id,
        calls.started_at,
        calls.direction,
        calls.disposition,
        calls.talk_s,
        calls.client_phone_hash,
        calls.manager,
        calls.call_month
    from calls
    inner join funnel_sources
        on calls.source = funnel_sources.source
    left join named_lines
        on
            funnel_sources.funnel_id = named_lines.funnel_id
            and calls.source = named_lines.source
            and calls.line = named_lines.line
    left join excluded
        on calls.client_phone_hash = excluded.client_phone_hash
    where
        calls.client_phone_hash is not null
        and excluded.client_phone_hash is null
        and (funnel_sources.takes_every_line = 1 or named_lines.line is not null)
)

select * from final
