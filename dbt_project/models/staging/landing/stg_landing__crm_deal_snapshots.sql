-- Every export snapshot of every deal: what an "as of" cut may know of a deal's amount
-- (funnel_forecast's backtest takes the latest snapshot at or before its moment, never a
-- later one), the sightings stage entries are inferred from (int_stage_entries_inferred),
-- and the latest snapshot of each deal (stg_landing__crm_deals).
-- Of two exports with the same snapshot time, the later arrival wins (as in
-- stg_landing__crm_deals). An export that lists a deal twice: the row with the smallest
-- values (stage, then status, pipeline, times, manager, …), so every build keeps the same.
-- A table, not a view: four models read it (stg_landing__crm_deals,
-- int_stage_entries_inferred, int_forecast_deal_periods, int_forecasts_estimated), and a
-- view would read the landing parquet and rank the exports once for each.
-- Incremental by file (macros/incremental_files.sql): a run ranks the new files' rows and
-- replaces the snapshots they hold (every new file arrived after every built one, so its
-- row wins), keeping every other snapshot as built.
{{ incremental_files(['source', 'deal_id', 'snapshot_at']) }}

{#- An export lists a deal once, and two exports rarely share a snapshot time: the keys
    held more than once are found first (three columns grouped), and only their rows are
    ranked; every other row passes as it is. A window over every row sorted by thirteen
    keys took 3.2-3.9 s alone at full scale (2.8 M rows), against 1.3-1.6 s. Each reader
    names the source itself: a CTE read twice is materialized whole. -#}
{%- set of_copied_key -%}
    deals.source = copied_keys.source
            and deals.deal_id = copied_keys.deal_id
            and deals.snapshot_at is not distinct from copied_keys.snapshot_at
{%- endset %}
{%- set snapshot_columns -%}
    source,
        deal_id,
        crm_pipeline,
        stage,
        status,
        {{ as_utc('created_at') }} as created_at,
        {{ as_utc('closed_at') }} as closed_at,
        manager,
        lead_source,
        amount,
        currency,
        lost_reason,
        {{ as_utc('snapshot_at') }} as snapshot_at,
        file_id
{%- endset %}

with

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

copied_keys as (
    select
        source,
        deal_id,
        snapshot_at
    from {{ source('landing', 'crm_deals') }}
    where {{ of_new_files('file_id') }}
    group by source, deal_id, snapshot_at
    having count(*) > 1
),

single_copies as (
    select deals.*
    from {{ source('landing', 'crm_deals') }} as deals
    left join copied_keys
        on
            {{ of_copied_key }}
    where
        copied_keys.deal_id is null
        and {{ of_new_files('deals.file_id') }}
),

ranked_copies as (
    select
        deals.*,
        row_number() over (
            partition by deals.source, deals.deal_id, deals.snapshot_at
            order by
                arrivals.received_at desc,
                arrivals.path desc,
                deals.file_id desc,
                deals.stage asc nulls last,
                deals.status asc nulls last,
                deals.crm_pipeline asc nulls last,
                deals.created_at asc nulls last,
                deals.closed_at asc nulls last,
                deals.manager asc nulls last,
                deals.lead_source asc nulls last,
                deals.amount asc nulls last,
                deals.currency asc nulls last,
                deals.lost_reason asc nulls last
        ) as arrival_rank
    from {{ source('landing', 'crm_deals') }} as deals
    inner join copied_keys
        on
            {{ of_copied_key }}
    left join arrivals
        on deals.file_id = arrivals.file_id
    where {{ of_new_files('deals.file_id') }}
),

kept as (
    select
        {{ snapshot_columns }}
    from single_copies
    union all
    select
        {{ snapshot_columns }}
    from ranked_copies
    where arrival_rank = 1
),

settings as (
    select currency from {{ ref('stg_landing__config_settings') }}
),

-- An amount in another currency than the config's `currency` (an ISO code that differs)
-- is no amount here: sums never add dollars to roubles. data_quality counts such deals.
priced as (
    select
        kept.*,
        coalesce(
            kept.amount is not null and {{ currency_code('kept.currency') }} <> settings.currency,
            false
        ) as is_other_currency
    from kept
    cross join settings
),

final as (
    select
        source,
        deal_id,
        crm_pipeline,
        stage,
        status,
        created_at,
        closed_at,
        manager,
        lead_source,
        case when not is_other_currency then amount end as amount,
        currency,
        is_other_currency,
        lost_reason,
        snapshot_at,
        file_id
    from priced
)

select * from final
