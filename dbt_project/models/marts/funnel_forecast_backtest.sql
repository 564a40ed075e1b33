-- Would the forecast have been right? For each of the twelve months before the cutoff's
-- month, the forecast the funnel_forecast method made at the month's start from what was
-- known then (int_forecast_deal_periods: nothing later reaches the moment), against the
-- deals won in the month. Per funnel over those months (too few to forecast left out):
-- the mean absolute error and the share of months whose actual lay inside the 80 %
-- interval. Grain: funnel × month.
with

estimates as (
    select * from {{ ref('int_forecasts_estimated') }}
    where moment_kind = 'month_start' and segment_type = 'total'
),

months as (
    select
        funnel_id,
        cast(month as date) as month,
        as_of_at,
        open_deals,
        expected_won,
        won_low,
        won_high,
        won_in_window as actual_won,
        abs(won_in_window - expected_won) as absolute_error,
        won_in_window >= won_low and won_in_window <= won_high as is_covered,
        expected_amount,
        won_in_window_amount as actual_amount,
        history_deals,
        too_few_to_forecast
    from estimates
),

final as (
    select
        *,
        cast(
            sum(case when not too_few_to_forecast then 1 else 0 end) over (partition by funnel_id)
            as {{ dbt.type_bigint() }}
        ) as months_backtested,
        {{ exact_sum(
            'case when not too_few_to_forecast then absolute_error end', 'over (partition by funnel_id)'
        ) }}
        / nullif(
            count(case when not too_few_to_forecast then absolute_error end) over (partition by funnel_id), 0
        ) as mean_absolute_error,
        avg(
            case
                when not too_few_to_forecast and is_covered then {{ double_literal(1) }}
                when not too_few_to_forecast then {{ double_literal(0) }}
            end
        ) over (partition by funnel_id) as coverage
    from months
)

select * from final
