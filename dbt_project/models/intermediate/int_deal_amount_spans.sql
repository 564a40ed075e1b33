-- Each export's amount of a deal, shown from the export's snapshot until the deal's next
-- export (shown_until NULL: its latest). What the forecast reads a deal's amount at a
-- moment from (int_forecast_deal_periods, int_forecasts_estimated).
-- Tagged crm_and_config: a run with no new CRM file leaves it as the previous build wrote it
-- (pipeline/incremental.py).
with

snapshots as (
    select * from {{ ref('stg_landing__crm_deal_snapshots') }}
),

final as (
    select
        source,
        deal_id,
        amount,
        snapshot_at as shown_from,
        lead(snapshot_at) over (partition by source, deal_id order by snapshot_at) as shown_until
    from snapshots
)

select * from final
