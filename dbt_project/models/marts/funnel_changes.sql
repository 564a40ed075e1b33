-- Did a step's conversion really change? For each funnel, mature cohort month M, segment
-- and step (stage s -> s+1): M's conversion_to_next against the pooled six mature cohort
-- months before M (sum of entities_next / sum of entities), a two-proportion z-test with the
-- pooled standard error, its two-sided p-value, and Benjamini-Hochberg across every step
-- and segment tested for the funnel in M (false discovery rate
-- var('change_false_discovery_rate'), 0.05). A cell is tested only with n >= 30 entities
-- on each side (the managers' rule; others are kept with too_few and no verdict) and
-- some but not all of them converted.
-- Reads the cohort view of funnel_stage_monthly: the same counts the report prints.
with

cohort_steps as (
    select
        funnel_id,
        month,
        segment_type,
        segment,
        stage_order,
        stage_key,
        lead(stage_key) over (
            partition by funnel_id, month, segment_type, segment
            order by stage_order
        ) as next_stage_key,
        entities,
        entities_next
    from {{ ref('funnel_stage_monthly') }}
    where view = 'cohort' and is_mature
),

steps as (
    select * from cohort_steps
    where next_stage_key is not null
),

-- Mature months numbered per funnel, so "the six before" never spans a gap.
month_numbers as (
    select
        funnel_id,
        month,
        dense_rank() over (partition by funnel_id order by month) as month_number
    from (
        select distinct
            funnel_id,
            month
        from steps
    ) as mature_months
),

with_baseline as (
    select
        steps.funnel_id,
        steps.month,
        steps.segment_type,
        steps.segment,
        steps.stage_order,
        steps.stage_key,
        steps.next_stage_key,
        steps.entities as n_recent,
        steps.entities_next as converted_recent,
        sum(steps.entities) over (
            partition by steps.funnel_id, steps.segment_type, steps.segment, steps.stage_order
            order by month_numbers.month_number
            range between 6 preceding and 1 preceding
        ) as n_baseline,
        sum(steps.entities_next) over (
            partition by steps.funnel_id, steps.segment_type, steps.segment, steps.stage_order
            order by month_numbers.month_number
            range between 6 preceding and 1 preceding
        ) as converted_baseline,
        count(*) over (
            partition by steps.funnel_id, steps.segment_type, steps.segment, steps.stage_order
            order by month_numbers.month_number
            range between 6 preceding and 1 preceding
        ) as baseline_months
    from steps
    inner join month_numbers
        on
            steps.funnel_id = month_numbers.funnel_id
            and steps.month = month_numbers.month
),

rates as (
    select
        *,
        {{ ratio('converted_recent', 'n_recent') }} as rate_recent,
        {{ ratio('converted_baseline', 'n_baseline') }} as rate_baseline,
        {{ ratio('converted_recent + converted_baseline', 'n_recent + n_baseline') }} as rate_pooled,
        n_recent < 30 or n_baseline < 30 as too_few
    from with_baseline
    where baseline_months = 6
),

tested as (
    select
        *,
        case
            when too_few then null
            -- Nobody on either side converted, or everybody did (a call lead never has a
            -- lead source, so such cells are common): nothing to test, and a p of 1
            -- would only make the BH family larger.
            when rate_pooled in (0, 1) then null
            else
                (rate_recent - rate_baseline)
                / sqrt(
                    rate_pooled * (1 - rate_pooled)
                    * ({{ ratio(1, 'n_recent') }} + {{ ratio(1, 'n_baseline') }})
                )
        end as z
    from rates
),

with_p as (
    select
        *,
        {{ two_sided_p_value('z') }} as p_value
    from tested
),

-- Benjamini-Hochberg: q(i) = min over j >= i of m * p(j) / j, p sorted ascending.
ranked as (
    select
        *,
        count(p_value) over (partition by funnel_id, month) as tests_in_month,
        row_number() over (
            partition by funnel_id, month
            order by
                case when p_value is null then 1 else 0 end,
                p_value,
                segment_type,
                segment,
                stage_order
        ) as p_rank
    from with_p
),

adjusted as (
    select
        *,
        case
            when p_value is not null
                then least(
                    {{ double_literal(1) }},
                    min(case when p_value is not null then tests_in_month * p_value / p_rank end) over (
                        partition by funnel_id, month
                        order by p_rank desc
                        rows between unbounded preceding and current row
                    )
                )
        end as q_value
    from ranked
),

-- A segment's share of the total's change at the same step and month: its converted
-- entities over the total's entities, recent minus baseline. Over the values of one
-- segment type these add up to the total's change.
totals as (
    select
        funnel_id,
        month,
        stage_order,
        n_recent as total_n_recent,
        n_baseline as total_n_baseline
    from adjusted
    where segment_type = 'total'
),

final as (
    select
        adjusted.funnel_id,
        adjusted.month,
        adjusted.segment_type,
        adjusted.segment,
        cast(adjusted.stage_order as {{ dbt.type_int() }}) as stage_order,
        adjusted.stage_key,
        adjusted.next_stage_key,
        cast(adjusted.n_recent as {{ dbt.type_bigint() }}) as n_recent,
        cast(adjusted.converted_recent as {{ dbt.type_bigint() }}) as converted_recent,
        adjusted.rate_recent,
        cast(adjusted.n_baseline as {{ dbt.type_bigint() }}) as n_baseline,
        cast(adjusted.converted_baseline as {{ dbt.type_bigint() }}) as converted_baseline,
        adjusted.rate_baseline,
        100 * (adjusted.rate_recent - adjusted.rate_baseline) as change_pp,
        case
            when adjusted.segment_type <> 'total'
                then 100 * (
                    {{ ratio('adjusted.converted_recent', 'totals.total_n_recent') }}
                    - {{ ratio('adjusted.converted_baseline', 'totals.total_n_baseline') }}
                )
        end as contribution_pp,
        adjusted.too_few,
        adjusted.z,
        adjusted.p_value,
        adjusted.q_value,
        cast(adjusted.tests_in_month as {{ dbt.type_int() }}) as tests_in_month,
        coalesce(
            adjusted.q_value <= {{ double_literal(var('change_false_discovery_rate')) }}, false
        ) as is_significant
    from adjusted
    left join totals
        on
            adjusted.funnel_id = totals.funnel_id
            and adjusted.month = totals.month
            and adjusted.stage_order = totals.stage_order
)

select * from final
