-- Missed inbound calls on each funnel's lines (a known, not excluded client phone:
-- int_calls_on_funnel_lines), and whether the client got through or was called back: an
-- answered call in either direction with the same phone on the same calls source (any
-- line), at most callback_hours after. A call whose callback window runs past the cutoff
-- is still pending: not yet a leak. Incremental by UTC call month
-- (macros/incremental.sql): a callback comes after the missed call, so the months from
-- the boundary on see theirs. The phone's hash matches the callbacks and is not kept:
-- call_leaks reads none of it, and a 64-character hash per row was half the bytes written.
{{ incremental_months('call_month', 'calls_rebuild_from') }}

with

calls as (
    select * from {{ ref('stg_landing__calls') }}
    where {{ from_boundary('call_month', calls_rebuild_from()) }}
),

on_funnel_lines as (
    select * from {{ ref('int_calls_on_funnel_lines') }}
    where {{ from_boundary('call_month', calls_rebuild_from()) }}
),

settings as (
    select * from {{ ref('stg_landing__config_settings') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

missed as (
    select
        funnel_id,
        source,
        call_id,
        started_at,
        client_phone_hash,
        manager,
        call_month
    from on_funnel_lines
    where
        direction = 'inbound'
        and coalesce(disposition, 'unknown') != 'answered'
),

answered as (
    select
        source,
        client_phone_hash,
        started_at
    from calls
    where disposition = 'answered' and client_phone_hash is not null
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
            and windows.client_phone_hash = answered.client_phone_hash
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
order by call_month
