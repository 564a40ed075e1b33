-- Every event or snapshot time a landed row carries, with the file it came from, in UTC:
-- deals (snapshot, creation, close), stage events (entry) and calls (start). Every copy
-- of every row, before the other staging models keep one copy of each deal and call (an
-- older snapshot file would lose its rows there): what dates a file (int_files_dated).
{#- The times, as (CTE, column): one arm of the union each. #}
{%- set row_times = [
    ('deals', 'snapshot_at'),
    ('deals', 'created_at'),
    ('deals', 'closed_at'),
    ('events', 'entered_at'),
    ('calls', 'started_at'),
] %}

with

deals as (
    select * from {{ source('landing', 'crm_deals') }}
),

events as (
    select * from {{ source('landing', 'crm_stage_events') }}
),

calls as (
    select * from {{ source('landing', 'calls') }}
),

final as (
    {%- for relation, time_column in row_times %}
        select
            file_id,
            {{ as_utc(time_column) }} as event_at
        from {{ relation }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
