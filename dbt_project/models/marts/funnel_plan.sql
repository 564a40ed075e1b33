-- Planning backwards: for the configured target of closed sales in the planned month,
-- the volume needed at every stage. Rates are pooled (sum entities_next / sum entities)
-- over the last `plan.months` mature cohort months before the planned month; the range
-- comes from the pooled rates' Wilson bounds (volume_low uses the high rates).
-- Planned months: every month of the spine and the month after the cutoff month.
with

monthly as (
    select * from {{ ref('funnel_stage_monthly') }}
    where view = 'cohort'
),

funnels as (
    select * from {{ ref('stg_landing__config_funnels') }}
),

spine as (
    select * from {{ ref('int_months_spined') }}
),

planned_months as (
    select
        funnel_id,
        month as planned_month
    from spine
    union
    select
        funnel_id,
        cast({{ dbt.dateadd('month', '1', 'max(month)') }} as date) as planned_month
    from spine
    group by funnel_id
),

mature_months as (
    select distinct
        funnel_id,
        month
    from monthly
    where is_mature
),

-- The last plan.months mature cohort months before each planned month.
basis_months as (
    select
        planned_months.funnel_id,
        planned_months.planned_month,
        mature_months.month,
        row_number() over (
            partition by planned_months.funnel_id, planned_months.planned_month
            order by mature_months.month desc
        ) as recency
    from planned_months
    inner join mature_months
        on
            planned_months.funnel_id = mature_months.funnel_id
            and planned_months.planned_month > mature_months.month
),

pooled as (
    select
        basis_months.funnel_id,
        basis_months.planned_month,
        monthly.segment_type,
        monthly.segment,
        monthly.stage_order,
        monthly.stage_key,
        min(basis_months.month) as basis_from,
        max(basis_months.month) as basis_to,
        sum(monthly.entities) as entities,
        sum(monthly.entities_next) as entities_next
    from basis_months
    inner join funnels
        on basis_months.funnel_id = funnels.funnel_id
    inner join monthly
        on
            basis_months.funnel_id = monthly.funnel_id
            and basis_months.month = monthly.month
    where basis_months.recency <= funnels.plan_months
    group by
        basis_months.funnel_id,
        basis_months.planned_month,
        monthly.segment_type,
        monthly.segment,
        monthly.stage_order,
        monthly.stage_key
),

rated as (
    select
        *,
        {{ ratio('entities_next', 'entities') }} as rate,
        {{ wilson_bound('entities_next', 'entities', 'low') }} as rate_low,
        {{ wilson_bound('entities_next', 'entities', 'high') }} as rate_high
    from pooled
),

-- Product of the rates from this stage to the one before last (1 on the last stage);
-- NULL when a rate is unknown or zero, since no volume then reaches the target.
products as (
    select
        *,
        {{ _product_from_here('rate') }} as rate_product,
        {{ _product_from_here('rate_low') }} as rate_low_product,
        {{ _product_from_here('rate_high') }} as rate_high_product
    from rated
),

final as (
    select
        products.funnel_id,
        products.planned_month as month,
        products.segment_type,
        products.segment,
        products.stage_key,
        cast(products.stage_order as {{ dbt.type_int() }}) as stage_order,
        products.basis_from,
        products.basis_to,
        products.rate,
        products.rate_low,
        products.rate_high,
        cast(funnels.plan_target as {{ dbt.type_bigint() }}) as target,
        funnels.plan_target / products.rate_product as volume,
        funnels.plan_target / products.rate_high_product as volume_low,
        funnels.plan_target / products.rate_low_product as volume_high
    from products
    inner join funnels
        on products.funnel_id = funnels.funnel_id
)

select * from final
