-- Every month from the earliest activity to the cutoff month, per funnel, so that
-- months without activity still appear (with zeros) in the monthly marts.
with

entities as (
    select * from {{ ref('int_entities_described') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

digits as (
    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

offsets as (
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit as month_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
),

bounds as (
    select
        entities.funnel_id,
        min(entities.cohort_month) as first_month,
        max(cast({{ dbt.date_trunc('month', 'cutoff.cutoff_local') }} as date)) as last_month
    from entities
    cross join cutoff
    group by entities.funnel_id
),

final as (
    select
        bounds.funnel_id,
        cast({{ dbt.dateadd('month', 'offsets.month_offset', 'bounds.first_month') }} as date) as month
    from bounds
    cross join offsets
    where {{ dbt.dateadd('month', 'offsets.month_offset', 'bounds.first_month') }} <= bounds.last_month
)

select * from final
