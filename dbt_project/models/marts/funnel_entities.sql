-- One row per entity and stage reached. Every number in funnel_stage_monthly can be
-- explained from these rows. Incremental by cohort month (macros/incremental.sql).
{{ incremental_months('cohort_month', 'rebuild_from', 'funnel_id') }}

with

reached as (
    select * from {{ ref('int_entity_stages_reached') }}
    where
        reached_at is not null
        and {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

entities as (
    select * from {{ ref('int_entities_described') }}
    where {{ from_boundary('cohort_month', rebuild_from('funnel_id')) }}
),

final as (
    select
        reached.funnel_id,
        reached.entity_id,
        entities.entity_kind,
        reached.stage_key,
        reached.stage_order,
        reached.reached_at,
        reached.reached_by,
        reached.is_exact,
        reached.is_implied,
        reached.is_regressed,
        reached.is_within_window,
        entities.anchor_at,
        entities.cohort_month,
        {{ local_month('reached.reached_at') }} as reached_month,
        entities.manager,
        entities.lead_source
    from reached
    inner join entities
        on
            reached.funnel_id = entities.funnel_id
            and reached.entity_id = entities.entity_id
)

select * from final
order by cohort_month
