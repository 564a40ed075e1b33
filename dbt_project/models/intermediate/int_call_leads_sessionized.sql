-- Unlinked qualifying calls grouped into call leads: per funnel and phone, a call more
-- than window_days after the phone's previous unlinked call opens a new episode.
-- Incremental by the episode's cohort month (macros/incremental.sql): the call months
-- read start a window (and more) before the boundary, so every episode opening from the
-- boundary on sees the call before its first one; episodes opening earlier are kept.
{{ incremental_months('cohort_month', rebuild_from('funnel_id')) }}

with

unlinked as (
    select * from {{ ref('int_calls_linked_to_deals') }}
    where
        deal_entity_id is null
        and {{ from_boundary('call_month', links_rebuild_from('funnel_id')) }}
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

flagged as (
    select
        unlinked.funnel_id,
        unlinked.source,
        unlinked.call_id,
        unlinked.started_at,
        unlinked.client_phone_hash,
        unlinked.manager,
        case
            when
                lag(unlinked.started_at) over (
                    partition by unlinked.funnel_id, unlinked.client_phone_hash
                    order by unlinked.started_at, unlinked.call_id
                ) is null
                then 1
            when
                unlinked.started_at > {{ dbt.dateadd(
                    'day',
                    'funnels.window_days',
                    'lag(unlinked.started_at) over (partition by unlinked.funnel_id, unlinked.client_phone_hash order by unlinked.started_at, unlinked.call_id)'
                ) }}
                then 1
            else 0
        end as opens_episode
    from unlinked
    inner join funnels
        on unlinked.funnel_id = funnels.funnel_id
),

numbered as (
    select
        *,
        sum(opens_episode) over (
            partition by funnel_id, client_phone_hash
            order by started_at, call_id
            rows between unbounded preceding and current row
        ) as episode_number
    from flagged
),

episodes as (
    select
        *,
        min(started_at) over (
            partition by funnel_id, client_phone_hash, episode_number
        ) as episode_started_at,
        first_value(manager) over (
            partition by funnel_id, client_phone_hash, episode_number
            order by started_at, call_id
        ) as episode_manager
    from numbered
),

final as (
    select
        funnel_id,
        {{ dbt.concat([
            "'call:'",
            dbt.right('client_phone_hash', '16'),
            "':'",
            dbt.safe_cast('episode_started_at', dbt.type_string()),
        ]) }} as entity_id,
        source,
        call_id,
        started_at,
        episode_manager as manager,
        client_phone_hash,
        {{ local_month('episode_started_at') }} as cohort_month
    from episodes
    where {{ from_boundary(local_month('episode_started_at'), rebuild_from('funnel_id')) }}
)

select * from final
