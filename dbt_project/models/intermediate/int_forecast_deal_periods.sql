-- What the forecast learns from and applies to (docs/contracts.md "Forecast"): for each
-- funnel, moment kind and month, the funnel's deals as they stood at the month's landmark
-- moment, with what each did by the month's end.
-- Two moment kinds: `month_start` (the landmark is the local month's first instant: the
-- backtest) and `cutoff` (the cutoff month's landmark is the cutoff itself; a history
-- month's is the same day of the month and local time, on its last day when the month is
-- shorter). The window is (landmark, end of the local month].
-- "As of" a moment, only what was known by then counts: an entry from its upper bound
-- (entered_by: an exact time when it happened, a snapshot's stage when that export was
-- made), a deal from its creation or first CRM entry, an outcome from its time, an amount from the
-- latest export at or before the moment. A deal's later entries and later exports never
-- reach an earlier landmark.
-- Rows (period_kind):
--   open        the deal was known and neither won nor lost at the landmark: its
--               furthest stage then, the exact time it first reached it (NULL when that
--               stage is known only from a snapshot's bounds: age unknown) and age bucket
--   new         first known after the landmark, within the window
--   won_already won between the month's start and the landmark (cutoff kind only)
-- is_won_in_window: won after the landmark, by the window's end.
-- Months: only those the forecast reads (int_forecasts_estimated): `cutoff` rows for the
-- cutoff's month and the months its history and new-deal rate look back over
-- (var('forecast_history_months'), the funnel's plan months, whichever is more);
-- `month_start` rows for the backtest's var('forecast_backtest_months') months before
-- the cutoff's and the months their history looks back over.
-- Incremental (macros/forecast_periods.sql): every run rebuilds the `cutoff` rows (the
-- cutoff moves them all) and the `month_start` rows from the month before the entity
-- boundary on, and keeps the older ones: no deal a run can change has a row before then.
-- Each deal's stage spans come from int_deal_stage_spans (incremental by cohort month).
{%- set reached_at -%}
    case
        when furthest_spans.exact_reached_at <= deal_landmarks.landmark_at then furthest_spans.exact_reached_at
    end
{%- endset %}
{{ incremental_forecast_periods() }}

with

deals as (
    select * from {{ ref('int_deals_joined_to_funnels') }}
),

-- Each export's amount of a deal, shown until the deal's next export.
amount_spans as (
    select * from {{ ref('int_deal_amount_spans') }}
),

months as (
    select * from {{ ref('int_months_spined') }}
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

-- Each deal's stages: when each was first known to be reached, its first exact entry,
-- until when it was the furthest known; when the deal became known and was won.
stage_spans as (
    select * from {{ ref('int_deal_stage_spans') }}
),

-- Each deal with those times (from its furthest stage's row) and when it was lost
-- (closed_by of a lost deal: its close date, else the first export that showed it lost
-- for good; a lost deal without a close date is never open after that export).
deal_times as (
    select
        deals.funnel_id,
        deals.entity_id,
        deals.source,
        deals.deal_id,
        coalesce(deals.manager, '(unknown)') as manager,
        deals.amount as latest_amount,
        stage_spans.won_stage_order,
        stage_spans.first_known_at,
        stage_spans.won_at,
        coalesce(stage_spans.won_at = stage_spans.won_exact_at, false) as is_won_exact,
        case when deals.status = 'lost' then deals.closed_by end as lost_at
    from deals
    inner join stage_spans
        on
            deals.funnel_id = stage_spans.funnel_id
            and deals.entity_id = stage_spans.entity_id
    where stage_spans.stage_rank = 1
),

-- The stages short of winning, each the furthest from when it was first known to be
-- reached until furthest_until (NULL: still).
furthest_spans as (
    select
        funnel_id,
        entity_id,
        stage_order,
        exact_reached_at,
        reached_by as furthest_from,
        furthest_until
    from stage_spans
    where stage_order < won_stage_order
),

forecast_months as (
    select
        cutoff_at,
        cutoff_local,
        cast({{ dbt.date_trunc('month', 'cutoff_local') }} as date) as forecast_month,
        cast({{ dbt.date_trunc('day', 'cutoff_local') }} as date) as cutoff_day
    from cutoff
),

-- Where in its month a moment kind's landmark is: days after the month's first day and
-- local seconds after that day's midnight (the cutoff's, for the `cutoff` kind).
moment_kinds as (
    select
        'month_start' as moment_kind,
        cast(0 as {{ dbt.type_bigint() }}) as day_offset,
        cast(0 as {{ dbt.type_bigint() }}) as second_offset
    from forecast_months
    union all
    select
        'cutoff' as moment_kind,
        cast(
            {{ dbt.datediff('forecast_month', 'cutoff_day', 'day') }}
            as {{ dbt.type_bigint() }}
        ) as day_offset,
        cast(
            {{ dbt.datediff('cast(cutoff_day as ' ~ dbt.type_timestamp() ~ ')', 'cutoff_local', 'second') }}
            as {{ dbt.type_bigint() }}
        ) as second_offset
    from forecast_months
),

-- The months each moment kind is needed for, from the earliest the forecast reads on.
month_bounds as (
    select
        months.funnel_id,
        months.month,
        forecast_months.cutoff_at,
        {{ from_local('cast(months.month as ' ~ dbt.type_timestamp() ~ ')') }} as month_start_at,
        {{ from_local(dbt.dateadd('month', '1', 'cast(months.month as ' ~ dbt.type_timestamp() ~ ')')) }}
            as window_end_at,
        {{ dbt.datediff('months.month', 'forecast_months.forecast_month', 'month') }}
            as months_before,
        greatest({{ var('forecast_history_months') }}, funnels.plan_months) as months_looked_back,
        {{ forecast_periods_first_month('funnels.plan_months', 'forecast_months.forecast_month') }}
            as first_month_start_month
    from months
    inner join funnels
        on months.funnel_id = funnels.funnel_id
    cross join forecast_months
    where months.month <= forecast_months.forecast_month
),

-- A month's landmark: its first instant (`month_start`), or the same day of the month and
-- local time as the cutoff, on the month's last day when the month is shorter (`cutoff`:
-- a cutoff of 31 March 20:00 cuts February at 28 February 20:00, never in March); the
-- cutoff month's is the cutoff itself.
landmark_days as (
    select
        month_bounds.funnel_id,
        month_bounds.month,
        month_bounds.cutoff_at,
        month_bounds.month_start_at,
        month_bounds.window_end_at,
        month_bounds.months_before,
        month_bounds.months_looked_back,
        month_bounds.first_month_start_month,
        moment_kinds.moment_kind,
        moment_kinds.second_offset,
        least(
            cast({{ dbt.dateadd('day', 'moment_kinds.day_offset', 'month_bounds.month') }} as date),
            cast({{ dbt.dateadd('day', '-1', dbt.dateadd('month', '1', 'month_bounds.month')) }} as date)
        ) as landmark_day
    from month_bounds
    cross join moment_kinds
),

landmarks as (
    select
        funnel_id,
        moment_kind,
        month,
        month_start_at,
        case
            when moment_kind = 'cutoff' and months_before = 0 then cutoff_at
            else {{ from_local(dbt.dateadd(
                'second', 'second_offset', 'cast(landmark_day as ' ~ dbt.type_timestamp() ~ ')'
            )) }}
        end as landmark_at,
        window_end_at
    from landmark_days
    where
        (
            months_before <= months_looked_back
            or (
                moment_kind = 'month_start'
                and month >= first_month_start_month
            )
        )
        and (
            moment_kind = 'cutoff'
            or {{ from_boundary('month', forecast_periods_from('funnel_id')) }}
        )
),

-- A win counts in the month it happened, as revenue_monthly and the period view count it:
-- an exact one at its time, [month start, month end); one an export first showed, before
-- the export, (month start, month end] (macros/time.sql happened_by). So a close date of
-- 00:00 on the 1st is that month's win, and the `month_start` row of that month has it in
-- its window (the landmark is that very instant); a `cutoff` landmark knows every win by
-- then. A deal is new in a window it was created in, from the landmark to the month's
-- end: one created at 00:00 on the 1st is that month's (open at its first instant).
deal_moments as (
    select
        landmarks.*,
        deal_times.entity_id,
        deal_times.source,
        deal_times.deal_id,
        deal_times.manager,
        deal_times.latest_amount,
        deal_times.won_stage_order,
        deal_times.first_known_at,
        deal_times.won_at,
        deal_times.won_at <= landmarks.landmark_at and landmarks.moment_kind = 'cutoff' as is_won_by_landmark,
        case
            when deal_times.is_won_exact then deal_times.won_at < landmarks.window_end_at
            else deal_times.won_at <= landmarks.window_end_at
        end as is_won_by_month_end
    from landmarks
    inner join deal_times
        on landmarks.funnel_id = deal_times.funnel_id
    where
        deal_times.first_known_at < landmarks.window_end_at
        and (
            deal_times.won_at is null
            or deal_times.won_at > landmarks.month_start_at
            or (deal_times.is_won_exact and deal_times.won_at = landmarks.month_start_at)
        )
        and (deal_times.lost_at is null or deal_times.lost_at > landmarks.landmark_at)
),

deal_landmarks as (
    select
        funnel_id,
        moment_kind,
        month,
        landmark_at,
        window_end_at,
        entity_id,
        source,
        deal_id,
        manager,
        latest_amount,
        won_stage_order,
        case
            when is_won_by_landmark then 'won_already'
            when first_known_at <= landmark_at then 'open'
            else 'new'
        end as period_kind,
        coalesce(not is_won_by_landmark and is_won_by_month_end, false) as is_won_in_window
    from deal_moments
),

-- The open deals' furthest stage known at the landmark, short of winning, with its first
-- exact entry if that is known by then (an exact entry beats bounds); the amount of the
-- latest export at or before the landmark.
described as (
    select
        deal_landmarks.funnel_id,
        deal_landmarks.moment_kind,
        deal_landmarks.month,
        deal_landmarks.landmark_at,
        deal_landmarks.window_end_at,
        deal_landmarks.entity_id,
        deal_landmarks.source,
        deal_landmarks.deal_id,
        deal_landmarks.manager,
        deal_landmarks.period_kind,
        cast(furthest_spans.stage_order as {{ dbt.type_int() }}) as stage_order,
        {{ reached_at }} as stage_reached_at,
        {{ days_between(reached_at, 'deal_landmarks.landmark_at') }} as age_days,
        deal_landmarks.is_won_in_window,
        amount_spans.amount as amount_at_landmark,
        deal_landmarks.latest_amount
    from deal_landmarks
    left join furthest_spans
        on
            deal_landmarks.funnel_id = furthest_spans.funnel_id
            and deal_landmarks.entity_id = furthest_spans.entity_id
            and deal_landmarks.period_kind = 'open'
            and deal_landmarks.landmark_at >= furthest_spans.furthest_from
            and (furthest_spans.furthest_until is null or deal_landmarks.landmark_at < furthest_spans.furthest_until)
    left join amount_spans
        on
            deal_landmarks.source = amount_spans.source
            and deal_landmarks.deal_id = amount_spans.deal_id
            and deal_landmarks.landmark_at >= amount_spans.shown_from
            and (amount_spans.shown_until is null or deal_landmarks.landmark_at < amount_spans.shown_until)
),

-- Age buckets in days since the stage was reached; `unknown` when only a snapshot's
-- bounds say when (such deals are estimated among themselves, never given an age).
final as (
    select
        *,
        case
            when period_kind <> 'open' then null
            when stage_reached_at is null then 'unknown'
            when age_days < 7 then '0-6'
            when age_days < 14 then '7-13'
            when age_days < 30 then '14-29'
            when age_days < 60 then '30-59'
            when age_days < 120 then '60-119'
            else '120+'
        end as age_bucket
    from described
)

select * from final
-- Rows in the order a run replaces them (the `month_start` months, then the `cutoff` rows):
-- a run's delete then reaches the table's last row groups.
order by moment_kind desc, month asc
