-- The sales cycle of won deals: days from the entity's anchor (earliest recorded stage
-- entry) to winning, per funnel, month of winning and segment, on the month spine.
with

entities as (
    select * from {{ ref('int_entities_described') }}
    where entity_kind = 'deal' and status = 'won' and closed_at is not null
),

segments as (
    select * from {{ ref('int_entity_segments') }}
),

segment_months as (
    select * from {{ ref('int_segment_months_spined') }}
),

won_deals as (
    select
        funnel_id,
        entity_id,
        {{ local_month('closed_at') }} as month,
        {{ days_between('anchor_at', 'closed_at') }} as cycle_days
    from entities
),

cycle_stats as (
    select
        won_deals.funnel_id,
        won_deals.month,
        segments.segment_type,
        segments.segment,
        count(*) as won_deals,
        {{ percentile_cont('won_deals.cycle_days', 0.5) }} as median_days,
        {{ percentile_cont('won_deals.cycle_days', 0.8) }} as p80_days
    from won_deals
    inner join segments
        on
            won_deals.funnel_id = segments.funnel_id
            and won_deals.entity_id = segments.entity_id
    group by 1, 2, 3, 4
),

final as (
    select
        segment_months.funnel_id,
        segment_months.month,
        segment_months.segment_type,
        segment_months.segment,
        cast(coalesce(cycle_stats.won_deals, 0) as {{ dbt.type_bigint() }}) as won_deals,
        cycle_stats.median_days,
        cycle_stats.p80_days
    from segment_months
    left join cycle_stats
        on
            segment_months.funnel_id = cycle_stats.funnel_id
            and segment_months.month = cycle_stats.month
            and segment_months.segment_type = cycle_stats.segment_type
            and segment_months.segment = cycle_stats.segment
)

select * from final
