-- Stage entries inferred from consecutive export snapshots (docs/contracts.md "Every deal
-- counts"), for every CRM source: its exports may carry no history (amoCRM; Bitrix24,
-- Pipedrive, Salesforce or generic without a history file), and an events export often
-- covers a limited range. The rule, over every deals file of a source loaded so far:
-- - Snapshots: files with the same snapshot_at form one snapshot; of a deal in both, the
--   later arrival's row (stg_landing__crm_deal_snapshots). A deal's sightings are the
--   snapshots that contain it, in order.
-- - First sighting at t: the deal's stage is entered with entered_at = t and
--   entered_after = created_at (no later than t). Absence from an earlier export proves
--   nothing (exports are filtered, rows get rejected), so the lower bound is the creation
--   time, not the previous snapshot.
-- - Later sightings at t, previous sighting at t_prev: if (crm_pipeline, stage, status)
--   changed, the new stage is entered with entered_at = t, entered_after = t_prev;
--   unchanged adds nothing. Each row carries the sighting's status: a sighting as won is
--   an entry into the funnel's won stage (int_stage_entries_unioned), whether or not the
--   deal has a close date or stays won in later exports. A stage entered and left between
--   two exports is never seen (the reach policy fills it); moving back enters the earlier
--   stage again (a regression).
-- - Closing: when the deal is closed (won/lost) in that sighting and its closed_at lies in
--   [entered_after, t], the CRM recorded the moment: entered_at = closed_at
--   (is_close_dated, also when the close is the export's very instant).
-- Every row is_exact false, with the deal's pipeline and manager and the file of that
-- sighting (a deal moved to another pipeline enters a stage of that pipeline). The
-- result depends on the set of snapshots only, never on the order they arrived in.
-- Grain: one row per deal and sighting that enters a stage (source, deal_id, file_id;
-- sighted_at is the sighting's snapshot time).
-- Incremental by file (macros/incremental_files.sql): a sighting's entry depends on it and
-- the deal's sighting before it only, so a run recomputes each deal with a new sighting
-- from its first new one on (a later export appends one sighting; a backdated one changes
-- the next sighting's entry too), reading the sighting before as the previous one; the
-- pre-hook first deletes those deals' built entries from there on. A NULL snapshot time
-- sorts last, as in the window below. The run then only inserts.
{%- set sighted = sighting_order('snapshot_at') %}
{{ incremental_files(['source', 'deal_id', 'sighted_at'], deleted_by_pre_hook=true) }}
{{ config(pre_hook='{{ delete_sightings_from_first_new() }}') }}

with

snapshots as (
    select * from {{ ref('stg_landing__crm_deal_snapshots') }}
),

{% if reads_new_files_only() %}
-- Each deal with a new sighting: its first new one, and the sighting before it.
first_new as (
    {{ first_new_sightings() }}
),

sighting_before as (
    select
        first_new.source,
        first_new.deal_id,
        max({{ sighted }}) as previous_at
    from {{ ref('stg_landing__crm_deal_snapshots') }} as snapshots
    inner join first_new
        on
            snapshots.source = first_new.source
            and snapshots.deal_id = first_new.deal_id
    where {{ sighted }} < first_new.first_new_at
    group by first_new.source, first_new.deal_id
),

-- Those deals' sightings from the one before the first new on; entries are written from
-- the first new one on. Each CTE reads the table itself (a CTE read twice is materialized
-- whole).
tail as (
    select
        snapshots.*,
        {{ sighted }} >= first_new.first_new_at as is_recomputed
    from {{ ref('stg_landing__crm_deal_snapshots') }} as snapshots
    inner join first_new
        on
            snapshots.source = first_new.source
            and snapshots.deal_id = first_new.deal_id
    left join sighting_before
        on
            snapshots.source = sighting_before.source
            and snapshots.deal_id = sighting_before.deal_id
    where {{ sighted }} >= coalesce(sighting_before.previous_at, first_new.first_new_at)
),
{% endif %}

sightings as (
    select
        *,
        lag(snapshot_at) over (partition by source, deal_id order by snapshot_at) as previous_at,
        lag(stage) over (partition by source, deal_id order by snapshot_at) as previous_stage,
        lag(crm_pipeline) over (partition by source, deal_id order by snapshot_at) as previous_pipeline,
        lag(status) over (partition by source, deal_id order by snapshot_at) as previous_status
    from {{ 'tail' if reads_new_files_only() else 'snapshots' }}
),

entries as (
    select
        *,
        case
            when previous_at is not null then previous_at
            when created_at < snapshot_at then created_at
            else snapshot_at
        end as entered_after
    from sightings
    where
        {{ 'is_recomputed and' if reads_new_files_only() }} (
            previous_at is null
            or stage != previous_stage
            or status != previous_status
            or crm_pipeline != previous_pipeline
            or (crm_pipeline is null and previous_pipeline is not null)
            or (crm_pipeline is not null and previous_pipeline is null)
        )
),

final as (
    select
        source,
        deal_id,
        stage,
        case
            when status != 'open' and closed_at >= entered_after and closed_at <= snapshot_at
                then closed_at
            else snapshot_at
        end as entered_at,
        coalesce(
            status != 'open' and closed_at >= entered_after and closed_at <= snapshot_at, false
        ) as is_close_dated,
        entered_after,
        false as is_exact,
        status,
        crm_pipeline,
        manager,
        file_id,
        snapshot_at as sighted_at
    from entries
)

select * from final
