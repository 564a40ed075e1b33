-- Each manager's step conversion against the rest of the team, with a Wilson interval,
-- significance only outside it and with n >= 30, and an empirical-Bayes shrunk rate so
-- that 3 of 4 does not outrank 60 of 100. Month M pools cohorts M-(plan.months-1)…M.
with

counts as (
    select * from {{ ref('cohort_counts_windowed') }}
),

managers as (
    select * from counts
    where segment_type = 'manager'
),

team as (
    select * from counts
    where segment_type = 'total'
),

rates as (
    select
        managers.funnel_id,
        managers.month,
        managers.stage_order,
        managers.entities,
        {{ ratio('managers.entities_next', 'managers.entities') }} as manager_rate,
        {{ ratio('team.entities_next', 'team.entities') }} as team_rate
    from managers
    inner join team
        on
            managers.funnel_id = team.funnel_id
            and managers.month = team.month
            and managers.stage_order = team.stage_order
),

-- Beta prior by the method of moments over the team's managers: mean = pooled team
-- rate; between-manager variance = weighted variance of rates minus binomial noise.
prior_moments as (
    select
        funnel_id,
        month,
        stage_order,
        max(team_rate) as prior_mean,
        -- Summed as DECIMAL, which is exact: a float sum depends on the order the engine adds
        -- rows in (DuckDB's parallel aggregation varies it between runs), and the difference
        -- below cancels most digits, so a last-bit change showed in shrunk_rate.
        {{ ratio(
            'sum(cast(entities * (manager_rate - team_rate) * (manager_rate - team_rate) as decimal(38, 18)))',
            'sum(entities)'
        ) }} as weighted_variance,
        sum(case when entities > 0 then 1 else 0 end) as managers_with_data,
        sum(entities) as total_entities
    from rates
    group by funnel_id, month, stage_order
),

beta_prior as (
    select
        funnel_id,
        month,
        stage_order,
        prior_mean,
        case
            when prior_mean is null or prior_mean in (0, 1) then {{ double_literal(1000000) }}
            when
                weighted_variance - managers_with_data * prior_mean * (1 - prior_mean) / total_entities <= 0
                then {{ double_literal(1000000) }}
            else least(
                {{ double_literal(1000000) }},
                greatest(
                    {{ double_literal(0) }},
                    prior_mean * (1 - prior_mean)
                    / (weighted_variance - managers_with_data * prior_mean * (1 - prior_mean) / total_entities)
                    - 1
                )
            )
        end as prior_strength
    from prior_moments
),

scored as (
    select
        managers.funnel_id,
        managers.month,
        managers.segment as manager,
        managers.stage_key,
        managers.stage_order,
        managers.window_months,
        managers.is_mature,
        managers.entities as n,
        managers.entities_next as converted,
        {{ ratio('managers.entities_next', 'managers.entities') }} as rate,
        {{ wilson_bound('managers.entities_next', 'managers.entities', 'low') }} as ci_low,
        {{ wilson_bound('managers.entities_next', 'managers.entities', 'high') }} as ci_high,
        {{ ratio(
            'team.entities_next - managers.entities_next', 'team.entities - managers.entities'
        ) }} as team_rate_excl_manager,
        (managers.entities_next + beta_prior.prior_mean * beta_prior.prior_strength)
        / nullif(managers.entities + beta_prior.prior_strength, 0) as shrunk_rate
    from managers
    inner join team
        on
            managers.funnel_id = team.funnel_id
            and managers.month = team.month
            and managers.stage_order = team.stage_order
    inner join beta_prior
        on
            managers.funnel_id = beta_prior.funnel_id
            and managers.month = beta_prior.month
            and managers.stage_order = beta_prior.stage_order
),

final as (
    select
        funnel_id,
        month,
        manager,
        stage_key,
        cast(stage_order as {{ dbt.type_int() }}) as stage_order,
        cast(window_months as {{ dbt.type_int() }}) as window_months,
        is_mature,
        cast(n as {{ dbt.type_bigint() }}) as n,
        cast(converted as {{ dbt.type_bigint() }}) as converted,
        rate,
        ci_low,
        ci_high,
        team_rate_excl_manager,
        rate - team_rate_excl_manager as gap,
        shrunk_rate,
        n < 30 as too_few,
        coalesce(
            n >= 30 and (team_rate_excl_manager < ci_low or team_rate_excl_manager > ci_high),
            false
        ) as gap_significant
    from scored
)

select * from final
