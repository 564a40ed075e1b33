-- Every month of a funnel's spine × every segment its entities fall in: the rows the
-- monthly marts show even where nothing happened (zeros, not missing rows).
with

months as (
    select * from {{ ref('int_months_spined') }}
),

segments as (
    select distinct
        funnel_id,
        segment_type,
        segment
    from {{ ref('int_entity_segments') }}
),

final as (
    select
        months.funnel_id,
        months.month,
        segments.segment_type,
        segments.segment
    from months
    inner join segments
        on months.funnel_id = segments.funnel_id
)

select * from final
