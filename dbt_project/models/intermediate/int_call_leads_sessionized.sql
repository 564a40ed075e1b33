-- Unlinked qualifying calls grouped into call leads: per funnel and phone, a call more
-- than window_days after the phone's previous unlinked call opens a new episode.
-- Incremental by UTC call month (macros/incremental.sql), like the links it reads: a call
-- joins an older episode without changing that episode's cohort, so the months from the
-- boundary on carry on each phone's episode from its last call before the boundary (as
-- the previous build placed it: its episode start and manager).
{{ incremental_months('call_month', 'links_rebuild_from', 'funnel_id') }}

with

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

recomputed as (
    select
        funnel_id,
        source,
        call_id,
        started_at,
        client_phone_hash,
        manager,
        started_at as known_episode_start,
        call_month,
        false as is_carried
    from {{ ref('int_calls_linked_to_deals') }}
    where
        deal_entity_id is null
        and {{ from_boundary('call_month', links_rebuild_from('funnel_id')) }}
),

-- Each phone's last call before the boundary, if within a window of it (an older one
-- cannot reach a recomputed call): a recomputed call within a window after it joins its
-- episode. Its manager is the episode's (the first call's).
{% if is_incremental() %}
earlier as (
    select
        kept.funnel_id,
        kept.source,
        kept.call_id,
        kept.started_at,
        kept.client_phone_hash,
        kept.manager,
        kept.episode_started_at,
        kept.call_month,
        row_number() over (
            partition by kept.funnel_id, kept.client_phone_hash
            order by kept.started_at desc, kept.call_id desc
        ) as recency
    from {{ this }} as kept
    inner join funnels
        on kept.funnel_id = funnels.funnel_id
    where
        kept.call_month < {{ links_rebuild_from('kept.funnel_id') }}
        and kept.started_at >= {{ dbt.dateadd(
            'day', '-funnels.window_days', links_rebuild_from('kept.funnel_id')
        ) }}
),
{% endif %}

unlinked as (
    select * from recomputed
    {% if is_incremental() %}
        union all
        select
            funnel_id,
            source,
            call_id,
            started_at,
            client_phone_hash,
            manager,
            episode_started_at as known_episode_start,
            call_month,
            true as is_carried
        from earlier
        where recency = 1
    {% endif %}
),

flagged as (
    select
        unlinked.funnel_id,
        unlinked.source,
        unlinked.call_id,
        unlinked.started_at,
        unlinked.client_phone_hash,
        unlinked.manager,
        unlinked.known_episode_start,
        unlinked.call_month,
        unlinked.is_carried,
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

-- Each call's episode start: the start of the latest call up to it that opened an
-- episode (the carried call's known episode start, or an opening call's own start; they
-- only grow along the order). A running max in the order of the lag above: no window
-- over the episodes.
started as (
    select
        *,
        max(case when opens_episode = 1 then known_episode_start end) over (
            partition by funnel_id, client_phone_hash
            order by started_at, call_id
            rows between unbounded preceding and current row
        ) as episode_started_at
    from flagged
),

-- The episode's manager: its opening call's. One opening call per phone and start.
openers as (
    select
        funnel_id,
        client_phone_hash,
        known_episode_start as episode_started_at,
        manager as episode_manager
    from flagged
    where opens_episode = 1
),

episodes as (
    select
        started.*,
        openers.episode_manager
    from started
    inner join openers
        on
            started.funnel_id = openers.funnel_id
            and started.client_phone_hash = openers.client_phone_hash
            and started.episode_started_at = openers.episode_started_at
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
        episode_started_at,
        {{ local_month('episode_started_at') }} as cohort_month,
        call_month
    from episodes
    where not is_carried
)

select * from final
order by call_month
