-- Calls on each funnel's lines from a known client phone that is not excluded: what both
-- the call stages (int_calls_qualified) and the missed-call leaks
-- (int_calls_missed_classified) start from. One row per funnel and call. A view: each
-- reader filters it to the call months it recomputes, which reaches the calls table.
{{ config(materialized='view') }}

with

lines as (
    select * from {{ ref('stg_landing__config_funnel_lines') }}
),

-- A funnel takes every line of a source when it lists one without a line (NULL); else
-- its named lines, once each. A call is one row of the calls (unique source and
-- call_id) and matches each funnel at most once, in one of the two branches below:
-- every_line and the named lines of the other funnels share no funnel and source.
every_line as (
    select distinct
        funnel_id,
        source
    from lines
    where line is null
),

named_lines as (
    select distinct
        lines.funnel_id,
        lines.source,
        lines.line
    from lines
    left join every_line
        on
            lines.funnel_id = every_line.funnel_id
            and lines.source = every_line.source
    where
        lines.line is not null
        and every_line.funnel_id is null
),

excluded as (
    select * from {{ ref('stg_landing__config_exclude_phones') }}
),

-- Each branch names the calls table itself (a CTE read twice is materialized whole,
-- all ten million calls) and joins each call to its funnels once: no join of every
-- call to every funnel of its source, filtered afterwards.
on_lines as (
    select
        every_line.funnel_id,
        calls.source,
        calls.call_id,
        calls.started_at,
        calls.direction,
        calls.disposition,
        calls.talk_s,
        calls.client_phone_hash,
        calls.manager,
        calls.call_month
    from {{ ref('stg_landing__calls') }} as calls
    inner join every_line
        on calls.source = every_line.source
    union all
    select
        named_lines.funnel_id,
        calls.source,
        calls.call_id,
        calls.started_at,
        calls.direction,
        calls.disposition,
        calls.talk_s,
        calls.client_phone_hash,
        calls.manager,
        calls.call_month
    from {{ ref('stg_landing__calls') }} as calls
    inner join named_lines
        on
            calls.source = named_lines.source
            and calls.line = named_lines.line
),

final as (
    select
        on_lines.funnel_id,
        on_lines.source,
        on_lines.call_id,
        on_lines.started_at,
        on_lines.direction,
        on_lines.disposition,
        on_lines.talk_s,
        on_lines.client_phone_hash,
        on_lines.manager,
        on_lines.call_month
    from on_lines
    left join excluded
        on on_lines.client_phone_hash = excluded.client_phone_hash
    where
        on_lines.client_phone_hash is not null
        and excluded.client_phone_hash is null
)

select * from final
