-- Stage entries, once each: overlapping history exports repeat the same entry. A table,
-- not a view: several models read it, and the ranking would otherwise run per reader.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('landing', 'crm_stage_events') }}
),

ranked as (
    select
        source,
        deal_id,
        stage,
        {{ as_utc('entered_at') }} as entered_at,
        {{ as_utc('entered_after') }} as entered_after,
        is_exact,
        manager,
        file_id,
        row_number() over (
            partition by source, deal_id, stage, entered_at
            order by is_exact desc, file_id desc
        ) as copy_rank
    from source
),

final as (
    select
        source,
        deal_id,
        stage,
        entered_at,
        entered_after,
        is_exact,
        manager,
        file_id
    from ranked
    where copy_rank = 1
)

select * from final
