-- The data cutoff: the latest event or snapshot time in the landing data (never the
-- clock, so reruns are identical), in UTC and in the business time zone. An open deal's
-- close date is a plan, not an event: only closed deals' close dates count. (Times after
-- a file's snapshot, or after the day it was read, never land: ingest rejects them.)
with

times as (
    select max(started_at) as latest_at from {{ ref('stg_landing__calls') }}
    union all
    select max(entered_at) from {{ ref('stg_landing__crm_stage_events') }}
    union all
    select max(snapshot_at) from {{ ref('stg_landing__crm_deals') }}
    union all
    select max(created_at) from {{ ref('stg_landing__crm_deals') }}
    union all
    select max(closed_at) from {{ ref('stg_landing__crm_deals') }}
    where status != 'open'
),

cutoff as (
    select max(latest_at) as cutoff_at from times
),

final as (
    select
        cutoff_at,
        {{ to_local('cutoff_at') }} as cutoff_local,
        cast({{ dbt.dateadd('month', '-1', dbt.date_trunc('month', to_local('cutoff_at'))) }} as date)
            as last_complete_month
    from cutoff
)

select * from final
