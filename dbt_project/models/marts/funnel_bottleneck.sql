-- Per funnel, month and step: how many more closed sales a month the team would make if
-- its rate at this step rose to its best manager's sustained (shrunk) rate, all later
-- steps unchanged: entities(s) x (best_rate - team_rate) x product of later team rates.
-- Month M pools cohorts M-(plan.months-1)…M, like manager_scorecard.
-- The bottleneck is the step that gains the most among the steps whose best manager is
-- significantly better than the rest of the team (manager_scorecard.gap_significant,
-- n >= 30): lifting the team to a rate no one reliably beats it by is no plan.
with

counts as (
    select * from {{ ref('cohort_counts_windowed') }}
    where segment_type = 'total'
),

scorecard as (
    select * from {{ ref('manager_scorecard') }}
),

best as (
    select
        funnel_id,
        month,
        stage_order,
        manager as best_manager,
        shrunk_rate as best_rate,
        coalesce(gap_significant and gap > 0, false) as is_significantly_better,
        row_number() over (
            partition by funnel_id, month, stage_order
            order by shrunk_rate desc, manager asc
        ) as best_rank
    from scorecard
    -- the deals that name no manager are no one whose rate the team can learn
    where n > 0 and manager != '(unknown)'
),

team as (
    select
        funnel_id,
        month,
        stage_order,
        stage_key,
        is_mature,
        window_months,
        {{ ratio('entities', 'window_months') }} as entities_per_month,
        {{ ratio('entities_next', 'entities') }} as team_rate
    from counts
),

-- Product of the team rates of every later step (1 for the last step).
with_later_product as (
    select
        *,
        coalesce(
            case
                when
                    min(team_rate) over (
                        partition by funnel_id, month
                        order by stage_order desc
                        rows between unbounded preceding and 1 preceding
                    ) = 0
                    then {{ double_literal(0) }}
                else
                    exp(
                        sum(ln(team_rate)) over (
                            partition by funnel_id, month
                            order by stage_order desc
                            rows between unbounded preceding and 1 preceding
                        )
                    )
            end,
            {{ double_literal(1) }}
        ) as later_rates_product,
        count(*) over (
            partition by funnel_id, month
            order by stage_order desc
            rows between unbounded preceding and 1 preceding
        ) as later_steps,
        sum(case when team_rate is null then 1 else 0 end) over (
            partition by funnel_id, month
            order by stage_order desc
            rows between unbounded preceding and 1 preceding
        ) as later_unknown_rates
    from team
),

final as (
    select
        with_later_product.funnel_id,
        with_later_product.month,
        with_later_product.stage_key,
        cast(with_later_product.stage_order as {{ dbt.type_int() }}) as stage_order,
        with_later_product.is_mature,
        best.best_manager,
        best.best_rate,
        with_later_product.team_rate,
        case
            when with_later_product.later_unknown_rates > 0 then null
            else
                with_later_product.entities_per_month
                * greatest(best.best_rate - with_later_product.team_rate, 0)
                * with_later_product.later_rates_product
        end as extra_closed_sales,
        coalesce(best.is_significantly_better, false) as best_is_significantly_better
    from with_later_product
    left join best
        on
            with_later_product.funnel_id = best.funnel_id
            and with_later_product.month = best.month
            and with_later_product.stage_order = best.stage_order
            and best.best_rank = 1
)

select
    funnel_id,
    month,
    stage_key,
    stage_order,
    is_mature,
    best_manager,
    best_rate,
    team_rate,
    extra_closed_sales,
    coalesce(
        row_number() over (
            partition by funnel_id, month
            order by
                case when best_is_significantly_better then 0 else 1 end,
                case when extra_closed_sales is null then 1 else 0 end,
                extra_closed_sales desc,
                stage_order asc
        ) = 1
        and best_is_significantly_better
        and extra_closed_sales > 0,
        false
    ) as is_bottleneck
from final
