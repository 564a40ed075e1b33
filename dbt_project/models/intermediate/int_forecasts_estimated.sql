-- The forecast of deals won in a month, made at a moment from what was known then
-- (docs/contracts.md "Forecast"), for the months funnel_forecast (the cutoff month,
-- moment kind `cutoff`) and funnel_forecast_backtest (the twelve months before it, made
-- at each month's start) print. Grain: funnel × moment kind × month × segment_type
-- (total, manager) × segment.
-- Open deals: each wins in the window with the discrete-time hazard of its furthest
-- stage × age bucket: wins / periods over the history months (the
-- var('forecast_history_months') months before), a period being one deal open at a
-- month's landmark (a deal still open at the window's end counts as a period without a
-- win: censored after it, never dropped); a cell with fewer than
-- var('forecast_min_cell_periods') periods takes its stage's pooled hazard, a stage
-- without history 0. Deals not yet known: expected new deals (the mean over the funnel's
-- plan months before) × the share of the new deals of those months won in their own
-- window. Won count: a normal approximation to Poisson-binomial (open deals, variance
-- Σ p(1 − p)) plus Poisson new wins (variance λ·p), the 80 % interval at ±1.2816 SD.
-- The periods (int_forecast_deal_periods) are read where they are used, each time for a
-- few columns (a CTE read twice is materialized whole).
{% set z_80 = double_literal(1.2815515655446004) %}
{% set open_month_span = dbt.datediff('first_open_month', 'last_open_month', 'month') %}

with

amount_spans as (
    select * from {{ ref('int_deal_amount_spans') }}
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

forecast_months as (
    select cast({{ dbt.date_trunc('month', 'cutoff_local') }} as date) as forecast_month
    from cutoff
),

-- The months that have periods, per funnel and moment kind (a few rows, read twice).
period_months as (
    select distinct
        funnel_id,
        moment_kind,
        month
    from {{ ref('int_forecast_deal_periods') }}
),

first_months as (
    select
        funnel_id,
        moment_kind,
        min(month) as first_month
    from period_months
    group by funnel_id, moment_kind
),

-- The moments forecast from: the cutoff (for its own month), and each of the twelve
-- month starts before the cutoff month (the backtest).
as_of_months as (
    select distinct
        periods.funnel_id,
        periods.moment_kind,
        periods.month,
        periods.landmark_at,
        funnels.plan_months,
        least(
            funnels.plan_months,
            {{ dbt.datediff('first_months.first_month', 'periods.month', 'month') }}
        ) as new_deal_months
    from {{ ref('int_forecast_deal_periods') }} as periods
    inner join funnels
        on periods.funnel_id = funnels.funnel_id
    inner join first_months
        on
            periods.funnel_id = first_months.funnel_id
            and periods.moment_kind = first_months.moment_kind
    cross join forecast_months
    where
        (periods.moment_kind = 'cutoff' and periods.month = forecast_months.forecast_month)
        or (
            periods.moment_kind = 'month_start'
            and periods.month < forecast_months.forecast_month
            and periods.month
            >= {{ dbt.dateadd('month', -var('forecast_backtest_months'), 'forecast_months.forecast_month') }}
        )
),

-- New deals are counted over the plan months before (fewer at the start of the data).
as_of as (
    select
        *,
        {{ dbt.dateadd('month', '-new_deal_months', 'month') }} as first_new_deal_month
    from as_of_months
),

-- The history months' periods, counted per month before they are added up for each as-of
-- month that learns from them (a month is in the history of the
-- var('forecast_history_months') as-of months after it): the open periods per stage ×
-- age bucket, the new deals per manager, the deals won in their window.
month_cells as (
    select
        funnel_id,
        moment_kind,
        month,
        stage_order,
        age_bucket,
        count(*) as periods,
        sum(case when is_won_in_window then 1 else 0 end) as won
    from {{ ref('int_forecast_deal_periods') }}
    where period_kind = 'open'
    group by funnel_id, moment_kind, month, stage_order, age_bucket
),

month_new_deals as (
    select
        funnel_id,
        moment_kind,
        month,
        manager,
        count(*) as new_deals,
        sum(case when is_won_in_window then 1 else 0 end) as won
    from {{ ref('int_forecast_deal_periods') }}
    where period_kind = 'new'
    group by funnel_id, moment_kind, month, manager
),

-- A deal counts once among an as-of month's history deals. Its open months run without a
-- gap (it is open from when it is known until it is won or lost), so it counts in the
-- as-of months whose history that run meets, counted per run; a deal with a gap, if any, is
-- counted by its months.
deal_open_months as (
    select
        funnel_id,
        moment_kind,
        entity_id,
        min(month) as first_open_month,
        max(month) as last_open_month,
        count(*) as open_months
    from {{ ref('int_forecast_deal_periods') }}
    where period_kind = 'open'
    group by funnel_id, moment_kind, entity_id
),

deal_open_runs as (
    select
        *,
        open_months = {{ open_month_span }} + 1 as is_gapless
    from deal_open_months
),

open_runs as (
    select
        funnel_id,
        moment_kind,
        first_open_month,
        last_open_month,
        count(*) as deals
    from deal_open_runs
    where is_gapless
    group by funnel_id, moment_kind, first_open_month, last_open_month
),

gapped_open_months as (
    select
        periods.funnel_id,
        periods.moment_kind,
        periods.entity_id,
        periods.month
    from {{ ref('int_forecast_deal_periods') }} as periods
    inner join deal_open_runs
        on
            periods.funnel_id = deal_open_runs.funnel_id
            and periods.moment_kind = deal_open_runs.moment_kind
            and periods.entity_id = deal_open_runs.entity_id
    where periods.period_kind = 'open' and not deal_open_runs.is_gapless
),

won_deals as (
    select distinct
        funnel_id,
        moment_kind,
        month,
        entity_id,
        source,
        deal_id
    from {{ ref('int_forecast_deal_periods') }}
    where is_won_in_window
),

-- Each as-of month's history: the var('forecast_history_months') months before it.
history_months as (
    select
        as_of.funnel_id,
        as_of.moment_kind,
        as_of.month as as_of_month,
        as_of.landmark_at,
        as_of.first_new_deal_month,
        {{ dbt.dateadd('month', -var('forecast_history_months'), 'as_of.month') }} as first_history_month
    from as_of
),

-- Each as-of month with each month of its history [first_history_month, as_of_month)
-- that has periods: the per-month CTEs join it on the month. Their months are months of
-- the same periods, so each of their rows meets the same as-of months as through the
-- window condition, once each (a month without periods has no row to add).
history_windows as (
    select
        history_months.funnel_id,
        history_months.moment_kind,
        history_months.as_of_month,
        history_months.landmark_at,
        history_months.first_new_deal_month,
        period_months.month
    from history_months
    inner join period_months
        on
            history_months.funnel_id = period_months.funnel_id
            and history_months.moment_kind = period_months.moment_kind
            and history_months.as_of_month > period_months.month
            and history_months.first_history_month <= period_months.month
),

cell_hazards as (
    select
        history_windows.funnel_id,
        history_windows.moment_kind,
        history_windows.as_of_month,
        month_cells.stage_order,
        month_cells.age_bucket,
        sum(month_cells.periods) as periods,
        sum(month_cells.won) as won
    from history_windows
    inner join month_cells
        on
            history_windows.funnel_id = month_cells.funnel_id
            and history_windows.moment_kind = month_cells.moment_kind
            and history_windows.month = month_cells.month
    group by
        history_windows.funnel_id,
        history_windows.moment_kind,
        history_windows.as_of_month,
        month_cells.stage_order,
        month_cells.age_bucket
),

stage_hazards as (
    select
        funnel_id,
        moment_kind,
        as_of_month,
        stage_order,
        sum(periods) as periods,
        sum(won) as won
    from cell_hazards
    group by funnel_id, moment_kind, as_of_month, stage_order
),

history_size_parts as (
    select
        history_months.funnel_id,
        history_months.moment_kind,
        history_months.as_of_month,
        open_runs.deals as history_deals,
        0 as history_periods
    from history_months
    inner join open_runs
        on
            history_months.funnel_id = open_runs.funnel_id
            and history_months.moment_kind = open_runs.moment_kind
            and history_months.as_of_month > open_runs.first_open_month
            and history_months.first_history_month <= open_runs.last_open_month
    union all
    select
        history_windows.funnel_id,
        history_windows.moment_kind,
        history_windows.as_of_month,
        count(distinct gapped_open_months.entity_id) as history_deals,
        0 as history_periods
    from history_windows
    inner join gapped_open_months
        on
            history_windows.funnel_id = gapped_open_months.funnel_id
            and history_windows.moment_kind = gapped_open_months.moment_kind
            and history_windows.month = gapped_open_months.month
    group by history_windows.funnel_id, history_windows.moment_kind, history_windows.as_of_month
    union all
    select
        funnel_id,
        moment_kind,
        as_of_month,
        0 as history_deals,
        periods as history_periods
    from cell_hazards
),

history_sizes as (
    select
        funnel_id,
        moment_kind,
        as_of_month,
        sum(history_deals) as history_deals,
        sum(history_periods) as history_periods
    from history_size_parts
    group by funnel_id, moment_kind, as_of_month
),

-- New deals of the plan months before: how many (per manager), and how many won in their
-- own window.
new_before as (
    select
        history_windows.funnel_id,
        history_windows.moment_kind,
        history_windows.as_of_month,
        month_new_deals.manager,
        sum(month_new_deals.new_deals) as new_deals,
        sum(month_new_deals.won) as won
    from history_windows
    inner join month_new_deals
        on
            history_windows.funnel_id = month_new_deals.funnel_id
            and history_windows.moment_kind = month_new_deals.moment_kind
            and history_windows.month = month_new_deals.month
            and history_windows.first_new_deal_month <= month_new_deals.month
    group by
        history_windows.funnel_id,
        history_windows.moment_kind,
        history_windows.as_of_month,
        month_new_deals.manager
),

new_rates as (
    select
        funnel_id,
        moment_kind,
        as_of_month,
        {{ ratio('sum(won)', 'sum(new_deals)') }} as new_deal_win_rate
    from new_before
    group by funnel_id, moment_kind, as_of_month
),

-- Won deals' amounts as the exports known at the moment showed them: the amount an open
-- deal without a known amount is expected to bring. Each export's amount holds until the
-- deal's next export.
won_history_deals as (
    select distinct
        history_windows.funnel_id,
        history_windows.moment_kind,
        history_windows.as_of_month,
        history_windows.landmark_at,
        won_deals.entity_id,
        won_deals.source,
        won_deals.deal_id
    from history_windows
    inner join won_deals
        on
            history_windows.funnel_id = won_deals.funnel_id
            and history_windows.moment_kind = won_deals.moment_kind
            and history_windows.month = won_deals.month
),

won_amount_spans as (
    select * from amount_spans
    where
        exists (
            select 1 from won_deals
            where
                amount_spans.source = won_deals.source
                and amount_spans.deal_id = won_deals.deal_id
        )
),

amount_stats as (
    select
        won_history_deals.funnel_id,
        won_history_deals.moment_kind,
        won_history_deals.as_of_month,
        {{ exact_sum('won_amount_spans.amount', scale=6) }} / count(*) as mean_won_amount,
        {{ exact_sum('won_amount_spans.amount * won_amount_spans.amount', scale=6) }} / count(*)
            as mean_square_won_amount
    from won_history_deals
    inner join won_amount_spans
        on
            won_history_deals.source = won_amount_spans.source
            and won_history_deals.deal_id = won_amount_spans.deal_id
            and won_history_deals.landmark_at >= won_amount_spans.shown_from
            and (
                won_amount_spans.shown_until is null
                or won_history_deals.landmark_at < won_amount_spans.shown_until
            )
    where won_amount_spans.amount is not null
    group by won_history_deals.funnel_id, won_history_deals.moment_kind, won_history_deals.as_of_month
),

-- Every forecast has a total and a row per manager.
segment_types as (
    select 'total' as segment_type
    union all
    select 'manager' as segment_type
),

-- The deals at the moment, each in its segments.
current_deals as (
    select
        as_of.funnel_id,
        as_of.moment_kind,
        as_of.month,
        periods.period_kind,
        periods.stage_order,
        periods.age_bucket,
        periods.amount_at_landmark,
        periods.latest_amount,
        periods.is_won_in_window,
        segment_types.segment_type,
        case when segment_types.segment_type = 'total' then 'all' else periods.manager end as segment
    from as_of
    inner join {{ ref('int_forecast_deal_periods') }} as periods
        on
            as_of.funnel_id = periods.funnel_id
            and as_of.moment_kind = periods.moment_kind
            and as_of.month = periods.month
    cross join segment_types
),

-- Every row that adds to a segment's figures: the deals at the moment (an open deal with
-- its win probability and amount) and the new deals of the plan months before.
contributions as (
    select
        current_deals.funnel_id,
        current_deals.moment_kind,
        current_deals.month,
        current_deals.segment_type,
        current_deals.segment,
        current_deals.period_kind,
        coalesce(
            case
                when cell_hazards.periods >= {{ var('forecast_min_cell_periods') }}
                    then {{ ratio('cell_hazards.won', 'cell_hazards.periods') }}
            end,
            {{ ratio('stage_hazards.won', 'stage_hazards.periods') }},
            {{ double_literal(0) }}
        ) as win_probability,
        coalesce(current_deals.amount_at_landmark, amount_stats.mean_won_amount) as amount,
        current_deals.latest_amount,
        current_deals.is_won_in_window,
        0 as new_deals_before
    from current_deals
    left join cell_hazards
        on
            current_deals.funnel_id = cell_hazards.funnel_id
            and current_deals.moment_kind = cell_hazards.moment_kind
            and current_deals.month = cell_hazards.as_of_month
            and current_deals.stage_order = cell_hazards.stage_order
            and current_deals.age_bucket = cell_hazards.age_bucket
    left join stage_hazards
        on
            current_deals.funnel_id = stage_hazards.funnel_id
            and current_deals.moment_kind = stage_hazards.moment_kind
            and current_deals.month = stage_hazards.as_of_month
            and current_deals.stage_order = stage_hazards.stage_order
    left join amount_stats
        on
            current_deals.funnel_id = amount_stats.funnel_id
            and current_deals.moment_kind = amount_stats.moment_kind
            and current_deals.month = amount_stats.as_of_month
    union all
    select
        new_before.funnel_id,
        new_before.moment_kind,
        new_before.as_of_month as month,
        segment_types.segment_type,
        case when segment_types.segment_type = 'total' then 'all' else new_before.manager end as segment,
        'new_before' as period_kind,
        {{ double_literal(0) }} as win_probability,
        cast(null as {{ type_double() }}) as amount,
        cast(null as {{ type_double() }}) as latest_amount,
        false as is_won_in_window,
        new_before.new_deals as new_deals_before
    from new_before
    cross join segment_types
),

-- Per segment: the open deals' sums (Poisson-binomial), the deals won already (between
-- the month's start and the moment: the cutoff kind only) and in the window (what
-- happened: the backtest's actual), the new deals of the plan months before.
segment_sums as (
    select
        funnel_id,
        moment_kind,
        month,
        segment_type,
        segment,
        sum(case when period_kind = 'open' then 1 else 0 end) as open_deals,
        {{ exact_sum("case when period_kind = 'open' then win_probability else 0 end") }}
            as expected_won_open,
        {{ exact_sum(
            "case when period_kind = 'open' then win_probability * (1 - win_probability) else 0 end"
        ) }} as variance_open,
        {{ exact_sum("case when period_kind = 'open' then win_probability * amount end", scale=6) }}
            as expected_amount_open,
        {{ exact_sum(
            "case when period_kind = 'open' then win_probability * (1 - win_probability) * amount * amount end",
            scale=6
        ) }} as amount_variance_open,
        sum(case when period_kind = 'open' and amount is null then 1 else 0 end) as unpriced_open_deals,
        sum(case when period_kind = 'won_already' then 1 else 0 end) as won_already,
        {{ exact_sum("case when period_kind = 'won_already' then latest_amount end", scale=6) }}
            as won_already_amount,
        sum(case when is_won_in_window then 1 else 0 end) as won_in_window,
        {{ exact_sum('case when is_won_in_window then latest_amount end', scale=6) }} as won_in_window_amount,
        sum(new_deals_before) as new_deals_before
    from contributions
    group by funnel_id, moment_kind, month, segment_type, segment
),

estimates as (
    select
        segment_sums.funnel_id,
        segment_sums.moment_kind,
        segment_sums.month,
        as_of.landmark_at as as_of_at,
        segment_sums.segment_type,
        segment_sums.segment,
        cast(segment_sums.open_deals as {{ dbt.type_bigint() }}) as open_deals,
        segment_sums.expected_won_open,
        segment_sums.variance_open,
        {{ ratio('segment_sums.new_deals_before', 'as_of.new_deal_months') }} as expected_new_deals,
        coalesce(new_rates.new_deal_win_rate, 0) as new_deal_win_rate,
        cast(segment_sums.won_already as {{ dbt.type_bigint() }}) as won_already,
        segment_sums.won_already_amount,
        coalesce(segment_sums.expected_amount_open, 0) as expected_amount_open,
        coalesce(segment_sums.amount_variance_open, 0) as amount_variance_open,
        cast(segment_sums.unpriced_open_deals as {{ dbt.type_bigint() }}) as unpriced_open_deals,
        amount_stats.mean_won_amount,
        amount_stats.mean_square_won_amount,
        cast(segment_sums.won_in_window as {{ dbt.type_bigint() }}) as won_in_window,
        segment_sums.won_in_window_amount,
        cast(coalesce(history_sizes.history_deals, 0) as {{ dbt.type_bigint() }}) as history_deals,
        cast(coalesce(history_sizes.history_periods, 0) as {{ dbt.type_bigint() }}) as history_periods
    from segment_sums
    inner join as_of
        on
            segment_sums.funnel_id = as_of.funnel_id
            and segment_sums.moment_kind = as_of.moment_kind
            and segment_sums.month = as_of.month
    left join new_rates
        on
            segment_sums.funnel_id = new_rates.funnel_id
            and segment_sums.moment_kind = new_rates.moment_kind
            and segment_sums.month = new_rates.as_of_month
    left join amount_stats
        on
            segment_sums.funnel_id = amount_stats.funnel_id
            and segment_sums.moment_kind = amount_stats.moment_kind
            and segment_sums.month = amount_stats.as_of_month
    left join history_sizes
        on
            segment_sums.funnel_id = history_sizes.funnel_id
            and segment_sums.moment_kind = history_sizes.moment_kind
            and segment_sums.month = history_sizes.as_of_month
),

-- Expected wins and their spread: known wins + open deals' Poisson-binomial (normal
-- approximation) + Poisson new wins; amounts alike, each win weighted by its amount
-- (a deal without a known amount, and a new deal, by the mean won amount).
totals as (
    select
        *,
        expected_new_deals * new_deal_win_rate as expected_won_new,
        won_already + expected_won_open + expected_new_deals * new_deal_win_rate as expected_won,
        sqrt(variance_open + expected_new_deals * new_deal_win_rate) as won_sd,
        case
            when
                unpriced_open_deals = 0
                and (expected_new_deals * new_deal_win_rate = 0 or mean_won_amount is not null)
                then
                    coalesce(won_already_amount, 0) + expected_amount_open
                    + coalesce(expected_new_deals * new_deal_win_rate * mean_won_amount, 0)
        end as expected_amount,
        sqrt(
            amount_variance_open + coalesce(expected_new_deals * new_deal_win_rate * mean_square_won_amount, 0)
        ) as amount_sd
    from estimates
),

final as (
    select
        *,
        greatest(
            cast(won_already as {{ type_double() }}), expected_won - {{ z_80 }} * won_sd
        ) as won_low,
        expected_won + {{ z_80 }} * won_sd as won_high,
        greatest(
            coalesce(won_already_amount, 0), expected_amount - {{ z_80 }} * amount_sd
        ) as amount_low,
        expected_amount + {{ z_80 }} * amount_sd as amount_high,
        history_deals < {{ var('forecast_min_history_deals') }} as too_few_to_forecast
    from totals
)

select * from final
