-- The exact stage entries read from files (history files, stage-date columns), once each:
-- overlapping history exports repeat the same entry. Of its copies, the later arrival's
-- entered_after and manager win (of copies in one file, the one with the latest
-- entered_after, then the greatest manager: the same row in every build); file_id is the
-- file that first delivered the entry.
-- Entries inferred from snapshots are a model (int_stage_entries_inferred); landing rows
-- with is_exact false are what ingest wrote before it moved there (it rewrote landing
-- after each run), left out: the model recomputes them. A table: several models read it.
-- Incremental by file (macros/incremental_files.sql): a run reads the new files' rows and
-- replaces an entry only when they change it (a cumulative export repeats every entry
-- unchanged: its copies leave the row as built) or bring it first.
{%- set key = ['source', 'deal_id', 'stage', 'entered_at'] %}
{%- set long_ago = "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")" %}
{{ incremental_files(key) }}

with

source as (
    select * from {{ source('landing', 'crm_stage_events') }}
    where {{ of_new_files('file_id') }}
),

arrivals as (
    select * from {{ ref('stg_landing__file_arrivals') }}
),

-- Each loaded file's place in the arrival order (received_at, then path, then file_id):
-- of an entry's copies, the one from the highest place wins, as a ranking by received_at,
-- path and file_id, each descending, would pick (landing holds rows of loaded files only;
-- a row of another file would rank below them all, and name no file). Placing the few files once lets one
-- group-by keep each entry's winning copy, instead of a window sorting every landing row
-- (cumulative history exports repeat most entries).
file_places as (
    select
        file_id,
        row_number() over (
            order by received_at asc nulls first, path asc nulls first, file_id asc
        ) as arrival_place
    from arrivals
),

placed as (
    select
        events.source,
        events.deal_id,
        events.stage,
        events.entered_at,
        {{ as_utc('events.entered_after') }} as entered_after,
        events.manager,
        events.file_id,
        coalesce(file_places.arrival_place, 0) as arrival_place
    from source as events
    left join file_places
        on events.file_id = file_places.file_id
    where events.is_exact
),

-- The winning copy as one value ordered by its place, then its entered_after, then its
-- manager (nulls first, spelled out: engines order a struct's nulls differently), so its
-- entered_after and manager come from one copy, the same in every build.
copies as (
    select
        source,
        deal_id,
        stage,
        {{ as_utc('entered_at') }} as entered_at,
        max({{ record([
            ['arrival_place', 'arrival_place'],
            ['has_entered_after', 'entered_after is not null'],
            ['entered_after', 'coalesce(entered_after, ' ~ long_ago ~ ')'],
            ['has_manager', 'manager is not null'],
            ['manager', "coalesce(manager, '')"],
        ]) }}) as last_copy,
        min(arrival_place) as first_place
    from placed
    group by source, deal_id, stage, entered_at
),

-- The file that first delivered each entry, found by its place: the group-by carries an
-- integer instead of the 64-character file id (at full scale a third less time, without
-- spilling).
entries as (
    select
        copies.source,
        copies.deal_id,
        copies.stage,
        copies.entered_at,
        case
            when {{ record_field('copies.last_copy', 'has_entered_after') }}
                then {{ record_field('copies.last_copy', 'entered_after') }}
        end as entered_after,
        true as is_exact,
        case
            when {{ record_field('copies.last_copy', 'has_manager') }}
                then {{ record_field('copies.last_copy', 'manager') }}
        end as manager,
        file_places.file_id
    from copies
    left join file_places
        on copies.first_place = file_places.arrival_place
),

{% if reads_new_files_only() %}
-- The new files' entries that are new or changed: every new file arrived after every built
-- one (pipeline/incremental.py), so its copy wins; the built row's first file stays.
changed as (
    select
        entries.source,
        entries.deal_id,
        entries.stage,
        entries.entered_at,
        entries.entered_after,
        entries.is_exact,
        entries.manager,
        coalesce(built.file_id, entries.file_id) as file_id
    from entries
    left join {{ this }} as built
        on
        {%- for column in key %}
            entries.{{ column }} is not distinct from built.{{ column }}{{ ' and' if not loop.last }}
        {%- endfor %}
    where
        built.is_exact is null
        or entries.entered_after is distinct from built.entered_after
        or entries.manager is distinct from built.manager
),
{% endif %}

final as (
    select * from {{ 'changed' if reads_new_files_only() else 'entries' }}
)

select * from final
