-- Where inbound demand leaks before it reaches the CRM, per funnel with telephony, month
-- and manager (plus `all`): missed inbound calls, those never called back, and call leads
-- that never became a deal.
with

missed as (
    select * from {{ ref('int_calls_missed_classified') }}
),

entities as (
    select * from {{ ref('int_entities_described') }}
    where entity_kind = 'call_lead'
),

months as (
    select * from {{ ref('int_months_spined') }}
),

lines as (
    select * from {{ ref('stg_landing__config_funnel_lines') }}
),

telephony_funnels as (
    select distinct funnel_id from lines
),

missed_by_manager as (
    select
        funnel_id,
        {{ local_month('started_at') }} as month,
        coalesce(manager, '(unknown)') as manager,
        count(*) as missed_inbound,
        sum(case when is_leak then 1 else 0 end) as not_called_back
    from missed
    group by 1, 2, 3
),

call_leads_by_manager as (
    select
        funnel_id,
        cohort_month as month,
        coalesce(manager, '(unknown)') as manager,
        count(*) as call_leads_never_in_crm
    from entities
    group by 1, 2, 3
),

activity as (
    select
        funnel_id,
        month,
        manager
    from missed_by_manager
    union all
    select
        funnel_id,
        month,
        manager
    from call_leads_by_manager
),

-- The shared spine, plus any month with calls before the funnel's first entity.
funnel_months as (
    select
        funnel_id,
        month
    from months
    union
    select
        funnel_id,
        month
    from activity
),

funnel_managers as (
    select
        funnel_id,
        manager
    from activity
    union
    select
        funnel_id,
        'all' as manager
    from telephony_funnels
),

grid as (
    select
        funnel_months.funnel_id,
        funnel_months.month,
        funnel_managers.manager
    from funnel_months
    inner join telephony_funnels
        on funnel_months.funnel_id = telephony_funnels.funnel_id
    inner join funnel_managers
        on funnel_months.funnel_id = funnel_managers.funnel_id
),

by_manager as (
    select
        grid.funnel_id,
        grid.month,
        grid.manager,
        coalesce(missed_by_manager.missed_inbound, 0) as missed_inbound,
        coalesce(missed_by_manager.not_called_back, 0) as not_called_back,
        coalesce(call_leads_by_manager.call_leads_never_in_crm, 0) as call_leads_never_in_crm
    from grid
    left join missed_by_manager
        on
            grid.funnel_id = missed_by_manager.funnel_id
            and grid.month = missed_by_manager.month
            and grid.manager = missed_by_manager.manager
    left join call_leads_by_manager
        on
            grid.funnel_id = call_leads_by_manager.funnel_id
            and grid.month = call_leads_by_manager.month
            and grid.manager = call_leads_by_manager.manager
    where grid.manager != 'all'
),

team as (
    select
        funnel_id,
        month,
        'all' as manager,
        sum(missed_inbound) as missed_inbound,
        sum(not_called_back) as not_called_back,
        sum(call_leads_never_in_crm) as call_leads_never_in_crm
    from by_manager
    group by 1, 2
),

team_on_grid as (
    select
        grid.funnel_id,
        grid.month,
        grid.manager,
        coalesce(team.missed_inbound, 0) as missed_inbound,
        coalesce(team.not_called_back, 0) as not_called_back,
        coalesce(team.call_leads_never_in_crm, 0) as call_leads_never_in_crm
    from grid
    left join team
        on
            grid.funnel_id = team.funnel_id
            and grid.month = team.month
    where grid.manager = 'all'
),

unioned as (
    select * from by_manager
    union all
    select * from team_on_grid
),

final as (
    select
        funnel_id,
        month,
        manager,
        cast(missed_inbound as {{ dbt.type_bigint() }}) as missed_inbound,
        cast(not_called_back as {{ dbt.type_bigint() }}) as not_called_back,
        cast(call_leads_never_in_crm as {{ dbt.type_bigint() }}) as call_leads_never_in_crm
    from unioned
)

select * from final
