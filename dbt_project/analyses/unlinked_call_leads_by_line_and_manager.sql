-- Callers who never reached the CRM, by month and by the manager who took the first call:
-- leads lost before anyone typed them in.
select
    funnel_id,
    cohort_month,
    coalesce(manager, '(unknown)') as manager,
    count(distinct entity_id) as call_leads
from {{ ref('funnel_entities') }}
where entity_kind = 'call_lead' and stage_order = 1
group by funnel_id, cohort_month, coalesce(manager, '(unknown)')
order by cohort_month desc, call_leads desc
