-- Every CRM stage entry, once each: the exact rows read from files (history files and
-- stage-date columns: stg_landing__crm_stage_events) and the entries inferred from
-- snapshots (int_stage_entries_inferred). Of two copies of an entry (the same source,
-- deal, stage and entered_at), an exact one wins over an inferred one, then the later
-- arrival, as staging ranks the exact copies. Where an exact entry into the same funnel
-- stage exists at another time, it wins downstream (int_entity_stages_reached).
-- A table, not a view: several models read it.
-- Tagged crm_and_config: a run with no new CRM file leaves it as the previous build wrote it
-- (pipeline/incremental.py).
{%- set columns = [
    'source', 'deal_id', 'stage', 'entered_at', 'entered_after', 'is_exact', 'manager', 'file_id',
    'crm_pipeline'
] %}

with

-- An exact row does not say the deal's pipeline (crm_pipeline NULL: its pipeline at the
-- time is not known); an inferred one is the pipeline the export showed the deal in.
exact as (
    select
        *,
        cast(null as {{ dbt.type_string() }}) as crm_pipeline
    from {{ ref('stg_landing__crm_stage_events') }}
),

inferred as (
    select * from {{ ref('int_stage_entries_inferred') }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

-- The exact rows are one per entry already (staging ranks their copies) and win over any
-- inferred copy: they pass as they are. Only the inferred rows without an exact copy are
-- ranked, among themselves, so the window sorts a few inferred rows instead of every
-- entry. Null-safe key comparisons: the ranking's partitions group NULLs together. The
-- exact rows' keys are read from the table itself (a CTE read twice is materialized whole).
inferred_without_exact as (
    select inferred.*
    from inferred
    left join {{ ref('stg_landing__crm_stage_events') }} as exact_keys
        on
            inferred.source is not distinct from exact_keys.source
            and inferred.deal_id is not distinct from exact_keys.deal_id
            and inferred.stage is not distinct from exact_keys.stage
            and inferred.entered_at is not distinct from exact_keys.entered_at
    where exact_keys.is_exact is null
),

ranked_inferred as (
    select
        inferred_without_exact.*,
        row_number() over (
            partition by
                inferred_without_exact.source,
                inferred_without_exact.deal_id,
                inferred_without_exact.stage,
                inferred_without_exact.entered_at
            order by
                arrivals.received_at desc,
                arrivals.path desc,
                inferred_without_exact.file_id desc
        ) as copy_rank
    from inferred_without_exact
    left join arrivals
        on inferred_without_exact.file_id = arrivals.file_id
),

final as (
    select {{ columns | join(', ') }} from exact
    union all
    select {{ columns | join(', ') }}
    from ranked_inferred
    where copy_rank = 1
)

select * from final
