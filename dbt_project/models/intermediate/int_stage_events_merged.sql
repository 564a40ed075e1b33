-- Every CRM stage entry, once each: the exact rows read from files (history files and
-- stage-date columns: stg_landing__crm_stage_events) and the entries inferred from
-- snapshots (int_stage_entries_inferred). Of two copies of an entry (the same source,
-- deal, stage and entered_at), an exact one wins over an inferred one, then the later
-- arrival, as staging ranks the exact copies. Where an exact entry into the same funnel
-- stage exists at another time, it wins downstream (int_entity_stages_reached).
-- A table, not a view: several models read it.
{%- set columns = [
    'source', 'deal_id', 'stage', 'entered_at', 'entered_after', 'is_exact', 'manager', 'file_id'
] %}

with

exact as (
    select * from {{ ref('stg_landing__crm_stage_events') }}
),

inferred as (
    select * from {{ ref('int_stage_entries_inferred') }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

unioned as (
    select {{ columns | join(', ') }} from exact
    union all
    select {{ columns | join(', ') }} from inferred
),

ranked as (
    select
        unioned.*,
        row_number() over (
            partition by unioned.source, unioned.deal_id, unioned.stage, unioned.entered_at
            order by
                unioned.is_exact desc,
                arrivals.received_at desc,
                arrivals.path desc,
                unioned.file_id desc
        ) as copy_rank
    from unioned
    left join arrivals
        on unioned.file_id = arrivals.file_id
),

final as (
    select {{ columns | join(', ') }}
    from ranked
    where copy_rank = 1
)

select * from final
