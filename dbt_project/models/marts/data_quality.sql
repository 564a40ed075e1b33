-- Data quality in long format (month × source × metric × detail): what was loaded,
-- duplicated, failed and rejected, which manager names the config does not know, and
-- how many qualifying calls found no deal. Nothing is dropped: rows without a month
-- (files that landed no rows) keep month NULL.
with

files as (
    select * from {{ ref('stg_landing__files') }}
),

files_dated as (
    select * from {{ ref('int_files_dated') }}
),

rejected as (
    select * from {{ ref('stg_landing__rejected_rows') }}
),

deals as (
    select * from {{ ref('stg_landing__crm_deals') }}
),

events as (
    select * from {{ ref('int_stage_events_merged') }}
),

calls as (
    select * from {{ ref('stg_landing__calls') }}
),

managers as (
    select * from {{ ref('stg_landing__config_managers') }}
),

linked_calls as (
    select * from {{ ref('int_calls_linked_to_deals') }}
),

-- A duplicate shares its file_id with the loaded copy but landed nothing itself.
files_with_month as (
    select
        files.file_id,
        files.source,
        files.status,
        files.rows_total,
        case
            when files.status = 'loaded' and files.rows_accepted > 0
                then {{ local_month('files_dated.latest_event_at') }}
        end as month
    from files
    left join files_dated
        on files.file_id = files_dated.file_id
),

file_metrics as (
    select
        month,
        source,
        {{ dbt.concat(["'files_'", "status"]) }} as metric,
        'all' as detail,
        count(*) as value
    from files_with_month
    group by 1, 2, 3, 4
),

-- Rejected rows belong to the one loaded copy of their file, never to its duplicates.
loaded_files as (
    select * from files_with_month
    where status = 'loaded'
),

row_metrics as (
    select
        month,
        source,
        'rows_total' as metric,
        'all' as detail,
        sum(rows_total) as value
    from loaded_files
    group by 1, 2, 3, 4
),

rejected_metrics as (
    select
        loaded_files.month,
        coalesce(loaded_files.source, '(unknown)') as source,
        'rows_rejected' as metric,
        coalesce(rejected.reason, '(no reason)') as detail,
        count(*) as value
    from rejected
    left join loaded_files
        on rejected.file_id = loaded_files.file_id
    group by 1, 2, 3, 4
),

-- What names a manager: a deal (its latest export, a stage entry of its history) or a
-- call; a deal counts once a month whatever number of its rows name the manager.
manager_rows as (
    select
        source,
        manager,
        'deal' as record_kind,
        deal_id as record_id,
        created_at as event_at
    from deals
    union all
    select
        source,
        manager,
        'deal' as record_kind,
        deal_id as record_id,
        entered_at as event_at
    from events
    union all
    select
        source,
        manager,
        'call' as record_kind,
        call_id as record_id,
        started_at as event_at
    from calls
),

unknown_manager_metrics as (
    select
        {{ local_month('manager_rows.event_at') }} as month,
        manager_rows.source,
        'unknown_managers' as metric,
        manager_rows.manager as detail,
        count(distinct manager_rows.record_kind || ':' || manager_rows.record_id) as value
    from manager_rows
    left join managers
        on manager_rows.manager = managers.manager
    where manager_rows.manager is not null and managers.manager is null
    group by 1, 2, 3, 4
),

unlinked_calls as (
    select
        funnel_id,
        source,
        call_id,
        started_at
    from linked_calls
    where deal_entity_id is null
),

unlinked_call_metrics as (
    select
        {{ local_month('started_at') }} as month,
        source,
        'calls_not_linked' as metric,
        funnel_id as detail,
        count(*) as value
    from unlinked_calls
    group by 1, 2, 3, 4
),

-- Deals whose amount is in another currency than the config's: left out of every sum,
-- counted in the month they closed (else were created), by that currency.
other_currency_metrics as (
    select
        {{ local_month('coalesce(closed_at, created_at)') }} as month,
        source,
        'amounts_other_currency' as metric,
        {{ currency_code('currency') }} as detail,
        count(*) as value
    from deals
    where is_other_currency
    group by 1, 2, 3, 4
),

unioned as (
    select * from file_metrics
    union all
    select * from row_metrics
    union all
    select * from rejected_metrics
    union all
    select * from unknown_manager_metrics
    union all
    select * from unlinked_call_metrics
    union all
    select * from other_currency_metrics
),

final as (
    select
        month,
        source,
        metric,
        detail,
        cast(value as {{ type_double() }}) as value
    from unioned
)

select * from final
