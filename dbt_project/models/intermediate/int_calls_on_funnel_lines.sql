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

excluded as (
    select * from {{ ref('stg_landing__config_exclude_phones') }}
),

final as (
    select distinct
        lines.funnel_id,
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
    inner join lines
        on
            calls.source = lines.source
            and (lines.line is null or calls.line = lines.line)
    left join excluded
        on calls.client_phone_hash = excluded.client_phone_hash
    where
        calls.client_phone_hash is not null
        and excluded.client_phone_hash is null
)

select * from final
