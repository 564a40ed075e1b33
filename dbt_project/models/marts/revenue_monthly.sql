-- Won revenue and win rates per funnel, month of closing and segment, on the month spine
-- so that a month without closed deals shows zeros (and NULL rates). A deal exported
-- without a close date closes when an export first showed it closed.
with

entities as (
    select * from {{ ref('int_entities_described') }}
    where entity_kind = 'deal' and status in ('won', 'lost')
),

segments as (
    select * from {{ ref('int_entity_segments') }}
),

segment_months as (
    select * from {{ ref('int_segment_months_spined') }}
),

-- Each closed deal in the month it closed: closed_by (closed_at, else the first export
-- that showed it closed, whose month is the second before's: macros/time.sql
-- happened_by), the month the period view counts its entry in.
closed_deals as (
    select
        funnel_id,
        entity_id,
        status,
        amount,
        {{ closed_month() }} as month
    from entities
    where closed_by is not null
),

closed_counts as (
    select
        closed_deals.funnel_id,
        closed_deals.month,
        segments.segment_type,
        segments.segment,
        sum(case when closed_deals.status = 'won' then 1 else 0 end) as won_deals,
        sum(case when closed_deals.status = 'won' and closed_deals.amount is not null then 1 else 0 end)
            as won_deals_with_amount,
        sum(case when closed_deals.status = 'won' then closed_deals.amount else 0 end) as won_amount,
        sum(case when closed_deals.status = 'lost' then 1 else 0 end) as lost_deals,
        sum(case when closed_deals.status = 'lost' then closed_deals.amount else 0 end) as lost_amount
    from closed_deals
    inner join segments
        on
            closed_deals.funnel_id = segments.funnel_id
            and closed_deals.entity_id = segments.entity_id
    group by 1, 2, 3, 4
),

counted as (
    select
        segment_months.funnel_id,
        segment_months.month,
        segment_months.segment_type,
        segment_months.segment,
        coalesce(closed_counts.won_deals, 0) as won_deals,
        coalesce(closed_counts.won_deals_with_amount, 0) as won_deals_with_amount,
        coalesce(closed_counts.won_amount, 0) as won_amount,
        coalesce(closed_counts.lost_deals, 0) as lost_deals,
        coalesce(closed_counts.lost_amount, 0) as lost_amount
    from segment_months
    left join closed_counts
        on
            segment_months.funnel_id = closed_counts.funnel_id
            and segment_months.month = closed_counts.month
            and segment_months.segment_type = closed_counts.segment_type
            and segment_months.segment = closed_counts.segment
),

final as (
    select
        funnel_id,
        month,
        segment_type,
        segment,
        cast(won_deals as {{ dbt.type_bigint() }}) as won_deals,
        won_amount,
        won_amount / nullif(won_deals_with_amount, 0) as avg_deal,
        {{ ratio('won_deals', 'won_deals + lost_deals') }} as win_rate_count,
        won_amount / nullif(won_amount + lost_amount, 0) as win_rate_amount
    from counted
)

select * from final
