-- Every export snapshot of every deal's amount: what an "as of" cut may know of a deal
-- (funnel_forecast's backtest takes the latest snapshot at or before its moment, never a
-- later one). Of two exports with the same snapshot time, the later arrival wins (as in
-- stg_landing__crm_deals).
with

source as (
    select * from {{ source('landing', 'crm_deals') }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

ranked as (
    select
        deals.source,
        deals.deal_id,
        deals.amount,
        {{ as_utc('deals.snapshot_at') }} as snapshot_at,
        row_number() over (
            partition by deals.source, deals.deal_id, deals.snapshot_at
            order by
                arrivals.received_at desc,
                arrivals.path desc,
                deals.file_id desc
        ) as arrival_rank
    from source as deals
    left join arrivals
        on deals.file_id = arrivals.file_id
),

final as (
    select
        source,
        deal_id,
        amount,
        snapshot_at
    from ranked
    where arrival_rank = 1
)

select * from final
