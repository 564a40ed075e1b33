-- How many deals will the funnel win in the cutoff's month, and for how much: the
-- forecast made at the cutoff from the funnel's own history (docs/contracts.md
-- "Forecast"; the estimate is int_forecasts_estimated's, the backtest of the same method
-- is funnel_forecast_backtest). Grain: funnel × segment_type (total, manager) × segment.
with

estimates as (
    select * from {{ ref('int_forecasts_estimated') }}
    where moment_kind = 'cutoff'
),

final as (
    select
        funnel_id,
        cast(month as date) as forecast_month,
        as_of_at,
        segment_type,
        segment,
        open_deals,
        expected_won_open,
        expected_new_deals,
        new_deal_win_rate,
        expected_won_new,
        won_already,
        expected_won,
        won_low,
        won_high,
        expected_amount,
        amount_low,
        amount_high,
        history_deals,
        history_periods,
        too_few_to_forecast
    from estimates
)

select * from final
