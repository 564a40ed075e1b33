-- What this build was made from: the pipeline's fingerprint of the models, macros and
-- config tables, the digest of the file ledger it read, and the loaded files with the
-- settings each was read with, one row per file (pipeline/built_state.py). The next
-- build compares them with its own to choose between an incremental run and a full
-- rebuild. Pipeline bookkeeping, not funnel data: its own layer, after the marts.
--
-- It must be written only by a build that also wrote every incremental model, so that a
-- partial build (`--select`) that skips one of them leaves the state as it was and the
-- next build catches up. It reads none of them, so it names them below: `depends_on` is
-- dbt's way to declare a dependency the SQL does not show. The list is every model that
-- calls incremental_months, incremental_files, incremental_forecast_periods or
-- incremental_lost_months (tests/unit/test_dbt_layers.py checks it). A run with no new CRM
-- file leaves the models of CRM data and config alone out (tag crm_and_config), and writes
-- the state: those have nothing to add for call logs (pipeline/incremental.py).
-- depends_on: {{ ref('stg_landing__crm_stage_events') }}
-- depends_on: {{ ref('stg_landing__crm_deal_snapshots') }}
-- depends_on: {{ ref('int_stage_entries_inferred') }}
-- depends_on: {{ ref('stg_landing__call_copies') }}
-- depends_on: {{ ref('int_calls_qualified') }}
-- depends_on: {{ ref('int_calls_missed_classified') }}
-- depends_on: {{ ref('int_calls_linked_to_deals') }}
-- depends_on: {{ ref('int_call_leads_sessionized') }}
-- depends_on: {{ ref('int_stage_entries_unioned') }}
-- depends_on: {{ ref('int_deal_stage_spans') }}
-- depends_on: {{ ref('int_forecast_deal_periods') }}
-- depends_on: {{ ref('int_entities_described') }}
-- depends_on: {{ ref('int_entity_stages_reached') }}
-- depends_on: {{ ref('int_entity_segments') }}
-- depends_on: {{ ref('funnel_entities') }}
-- depends_on: {{ ref('funnel_stage_monthly') }}
-- depends_on: {{ ref('lost_reasons') }}
-- depends_on: {{ ref('int_stage_transitions_counted') }}
with

files as (
    select
        file_id,
        read_with
    from {{ ref('stg_landing__files') }}
    where status = 'loaded'
),

fingerprint as (
    {%- set build_fingerprint = boundaries('build_fingerprint') or '' %}
    {%- set ledger_digest = boundaries('ledger_digest') or '' %}
    select
        cast('{{ build_fingerprint }}' as {{ dbt.type_string() }}) as build_fingerprint,
        cast('{{ ledger_digest }}' as {{ dbt.type_string() }}) as ledger_digest
),

final as (
    select
        fingerprint.build_fingerprint,
        fingerprint.ledger_digest,
        files.file_id,
        files.read_with
    from fingerprint
    left join files on 1 = 1
)

select * from final
