"""Warnings the CLI prints in plain words: what runs, but should not go unnoticed.

- the demo's phone hash key (or none) is in use: phone hashes in the marts can then be
  matched back to numbers by anyone who has the project;
- a funnel stage is mapped to a CRM stage name that no deal and no history row of the
  funnel's pipelines ever shows (a typo in voronka.yaml counts nothing, silently).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.config import Config

# The key the shipped voronka.yaml and examples carry (privacy.phone_hash_key).
DEMO_PHONE_HASH_KEY = "demo-only-key-change-me"


def hash_key_warning(config: Config) -> str | None:
    """The warning while phones are hashed with the demo key or with no key, else None."""
    key = config.phone_hash_key()
    if key and key != DEMO_PHONE_HASH_KEY:
        return None
    which = "the demo key" if key else "no key"
    return (
        f"WARNING: phone numbers are hashed with {which} (privacy.phone_hash_key): anyone "
        "with this project can match the hashes in the marts back to numbers. Before "
        f"loading real exports, set the environment variable "
        f"{config.privacy.phone_hash_key_env} to a secret of your own."
    )


# Mapped CRM stage names no deal of the funnel's pipelines (current stage or history
# entry) ever shows, from the built warehouse; a source with no deal yet (no export of it
# landed) says nothing about spelling.
_UNSEEN = """
with seen as (
    select source, crm_pipeline, stage from staging.stg_landing__crm_deals
    union
    select events.source, deals.crm_pipeline, events.stage
    from intermediate.int_stage_events_merged as events
    inner join staging.stg_landing__crm_deals as deals using (source, deal_id)
)
select distinct map.funnel_id, map.stage_order, map.stage_key, map.crm_stage, map.crm_pipeline
from staging.stg_landing__config_stage_map as map
where not exists (
    select 1 from seen
    where seen.source = map.source
      and (map.crm_pipeline is null or seen.crm_pipeline = map.crm_pipeline)
      and seen.stage = map.crm_stage
)
and exists (select 1 from seen where seen.source = map.source)
order by map.funnel_id, map.stage_order, map.crm_stage
"""


# Segments of a deal column (`segments: [{type, column}]`) that no deal of the funnel's
# sources has: every deal would count under (unknown). A funnel with no deal yet says
# nothing.
_UNSEEN_SEGMENTS = """
with funnel_deals as (
    select distinct crm.funnel_id, deals.source, deals.deal_id
    from staging.stg_landing__config_funnel_crm as crm
    inner join staging.stg_landing__crm_deals as deals
        on deals.source = crm.source
        and (crm.crm_pipeline is null or deals.crm_pipeline = crm.crm_pipeline)
)
select distinct segments.funnel_id, segments.segment_type, segments.attribute
from staging.stg_landing__config_segments as segments
where segments.attribute is not null
and exists (select 1 from funnel_deals where funnel_deals.funnel_id = segments.funnel_id)
and not exists (
    select 1
    from funnel_deals
    inner join staging.stg_landing__crm_deal_attributes as attributes
        using (source, deal_id)
    where funnel_deals.funnel_id = segments.funnel_id
      and attributes.name = segments.attribute
      and attributes.value is not null
)
order by segments.funnel_id, segments.segment_type
"""


def unseen_mapping_warnings(warehouse: Path) -> list[str]:
    """One line per funnel stage mapped to a CRM stage name the data never shows, and per
    segment of a deal column no deal of the funnel has."""
    if not warehouse.exists():
        return []
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            stages = con.execute(_UNSEEN).fetchall()
            segments = con.execute(_UNSEEN_SEGMENTS).fetchall()
    except duckdb.CatalogException:  # not built yet
        return []
    return [
        *(
            f"Warning: funnel {funnel_id!r}, stage {stage_key!r}: CRM stage {crm_stage!r}"
            + (f" (pipeline {pipeline!r})" if pipeline else "")
            + " never appears in the data; check its spelling in voronka.yaml"
            for funnel_id, _, stage_key, crm_stage, pipeline in stages
        ),
        *(
            f"Warning: funnel {funnel_id!r}, segment {segment_type!r}: no deal has a value in "
            f"column {column!r}, so every deal counts under (unknown); map the column in its "
            "sources' columns, or check its name in voronka.yaml"
            for funnel_id, segment_type, column in segments
        ),
    ]
