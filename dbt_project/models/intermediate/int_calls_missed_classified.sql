-- Missed inbound calls on each funnel's lines (a known, not excluded client phone), and
-- whether the client got through or was called back: an answered call in either
-- direction with the same phone on the same calls source, at most callback_hours after.
-- int_calls_qualified keeps only calls matching a call stage's rule, so missed calls are
-- matched to the lines here. A call whose callback window runs past the cutoff is still
-- pending: not yet a leak. Incremental by UTC call month (macros/incremental.sql): a
-- callback comes after the missed call, so the months from the boundary on see theirs.
{{ incremental_months('call_month', calls_rebuild_from()) }}

with

calls as (
    select * from {{ ref('stg_landing__calls') }}
    where {{ from_boundary('call_month', calls_rebuild_from()) }}
),

lines as (
    select * from {{ ref('stg_landing__config_funnel_lines') }}
),

excluded as (
    select * from {{ ref('stg_landing__config_exclude_phones') }}
),

settings as (
    select * from {{ ref('stg_landing__config_settings') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

missed as (
    select distinct
        lines.funnel_id,
        calls.source,
        calls.call_id,
        calls.started_at,
        calls.client_phone,
        calls.client_phone_hash,
        calls.manager,
        calls.call_month
    from calls
    inner join lines
        on
            calls.source = lines.source
            and (lines.line is null or calls.line = lines.line)
    left join excluded
        on calls.client_phone = excluded.client_phone
    where
        calls.direction = 'inbound'
        and coalesce(calls.disposition, 'unknown') != 'answered'
        and calls.client_phone is not null
        and excluded.client_phone is null
),

answered as (
    select
        source,
        client_phone,
        started_at
    from calls
    where disposition = 'answered' and client_phone is not null
),

windows as (
    select
        missed.*,
        {{ dbt.dateadd('hour', 'settings.callback_hours', 'missed.started_at') }} as callback_due_at
    from missed
    cross join settings
),

callbacks as (
    select
        windows.funnel_id,
        windows.source,
        windows.call_id,
        min(answered.started_at) as called_back_at
    from windows
    inner join answered
        on
            windows.source = answered.source
            and windows.client_phone = answered.client_phone
            and windows.started_at < answered.started_at
            and windows.callback_due_at >= answered.started_at
    group by windows.funnel_id, windows.source, windows.call_id
),

final as (
    select
        windows.funnel_id,
        windows.source,
        windows.call_id,
        windows.started_at,
        windows.client_phone_hash,
        windows.manager,
        windows.callback_due_at,
        callbacks.called_back_at,
        callbacks.called_back_at is not null as is_called_back,
        windows.callback_due_at <= cutoff.cutoff_at as is_window_closed,
        callbacks.called_back_at is null and windows.callback_due_at <= cutoff.cutoff_at as is_leak,
        windows.call_month
    from windows
    cross join cutoff
    left join callbacks
        on
            windows.funnel_id = callbacks.funnel_id
            and windows.source = callbacks.source
            and windows.call_id = callbacks.call_id
)

select * from final
