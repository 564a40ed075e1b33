"""voronka.yaml's funnels → small tables that dbt reads as sources (`landing.config_*`).

Stage lists, the CRM stage map, call rules and segments live only in the config; dbt
models join these tables instead of repeating names in SQL.
"""

from __future__ import annotations

import polars as pl

from pipeline.config import Config
from pipeline.io import write_parquet_atomic
from pipeline.transform.phones import PLANS, normalize_phone, phone_hash

CONFIG_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "config_funnels": {
        "funnel_id": pl.String,
        "reach_policy": pl.String,
        "window_days": pl.Int64,
        "link_days": pl.Int64,
        "stage_count": pl.Int64,
        "calls_source": pl.String,
        "plan_target": pl.Int64,
        "plan_months": pl.Int64,
    },
    "config_stages": {
        "funnel_id": pl.String,
        "stage_order": pl.Int64,
        "stage_key": pl.String,
        "stage_rule": pl.String,  # calls / crm_stages / crm_status
        "call_direction": pl.String,
        "call_answered": pl.Boolean,
        "call_min_talk_s": pl.Int64,
        "crm_status": pl.String,
    },
    "config_stage_map": {
        "funnel_id": pl.String,
        "stage_key": pl.String,
        "stage_order": pl.Int64,
        "source": pl.String,
        "crm_pipeline": pl.String,
        "crm_stage": pl.String,
        "valid_from": pl.Date,
        "valid_to": pl.Date,
    },
    "config_funnel_crm": {"funnel_id": pl.String, "source": pl.String, "crm_pipeline": pl.String},
    # CRM stage names that are outcomes (won/lost), per deals source, lowercased: a history
    # row entering one closes the deal (a lead list's won file): docs/contracts.md
    # "Every deal counts".
    "config_outcome_stages": {"source": pl.String, "crm_stage": pl.String, "status": pl.String},
    "config_funnel_lines": {"funnel_id": pl.String, "source": pl.String, "line": pl.String},
    "config_segments": {"funnel_id": pl.String, "segment_type": pl.String, "attribute": pl.String},
    # the keyed hash is what models join on: raw phones stay in landing
    "config_exclude_phones": {"client_phone": pl.String, "client_phone_hash": pl.String},
    "config_managers": {"manager": pl.String},
    "config_settings": {
        "timezone": pl.String,
        "conversation_min_s": pl.Int64,
        "callback_hours": pl.Int64,
        "currency": pl.String,  # amounts in another ISO currency are left out of sums
    },
}


def config_tables(config: Config) -> dict[str, pl.DataFrame]:
    """Every config table as a frame with a fixed schema (pure)."""
    rows: dict[str, list[dict]] = {name: [] for name in CONFIG_SCHEMAS}
    for funnel in config.funnels:
        rows["config_funnels"].append(
            {
                "funnel_id": funnel.id,
                "reach_policy": funnel.reach,
                "window_days": funnel.window_days,
                "link_days": funnel.link_days,
                "stage_count": len(funnel.stages),
                "calls_source": funnel.calls.source if funnel.calls else None,
                "plan_target": funnel.plan.target if funnel.plan else None,
                "plan_months": funnel.plan.months if funnel.plan else 3,
            }
        )
        for order, stage in enumerate(funnel.stages, start=1):
            rule = "calls" if stage.calls else "crm_stages" if stage.crm_stages else "crm_status"
            rows["config_stages"].append(
                {
                    "funnel_id": funnel.id,
                    "stage_order": order,
                    "stage_key": stage.key,
                    "stage_rule": rule,
                    "call_direction": stage.calls.direction if stage.calls else None,
                    "call_answered": stage.calls.answered if stage.calls else None,
                    "call_min_talk_s": (
                        stage.calls.least_talk_s(config.calls.conversation_min_s)
                        if stage.calls
                        else None
                    ),
                    "crm_status": stage.crm_status,
                }
            )
            for crm in funnel.crm:
                for name in stage.crm_stages:
                    rows["config_stage_map"].append(
                        {
                            "funnel_id": funnel.id,
                            "stage_key": stage.key,
                            "stage_order": order,
                            "source": crm.source,
                            "crm_pipeline": crm.pipeline,
                            "crm_stage": name.name,
                            "valid_from": name.valid_from,
                            "valid_to": name.valid_to,
                        }
                    )
        for crm in funnel.crm:
            rows["config_funnel_crm"].append(
                {"funnel_id": funnel.id, "source": crm.source, "crm_pipeline": crm.pipeline}
            )
        if funnel.calls:
            # No lines listed means every line of the source counts (line = NULL).
            plan = PLANS[config.source(funnel.calls.source).phone_country]
            lines = [normalize_phone(line, plan) for line in funnel.calls.lines] or [None]
            for line in lines:
                rows["config_funnel_lines"].append(
                    {"funnel_id": funnel.id, "source": funnel.calls.source, "line": line}
                )
        rows["config_segments"].append(
            {"funnel_id": funnel.id, "segment_type": "total", "attribute": None}
        )
        for segment in funnel.segments:
            segment_type, attribute = (
                (segment, None) if isinstance(segment, str) else (segment.type, segment.column)
            )
            rows["config_segments"].append(
                {"funnel_id": funnel.id, "segment_type": segment_type, "attribute": attribute}
            )
    rows["config_outcome_stages"] = outcome_stage_rows(config)
    rows["config_exclude_phones"] = [
        {"client_phone": phone, "client_phone_hash": phone_hash(phone, config.phone_hash_key())}
        for phone in sorted(
            {normalize_phone(p, PLANS[config.phone_country]) for p in config.exclude_phones}
            - {None}
        )
    ]
    rows["config_managers"] = [{"manager": manager.name} for manager in config.managers]
    rows["config_settings"] = [
        {
            "timezone": config.timezone,
            "conversation_min_s": config.calls.conversation_min_s,
            "callback_hours": config.calls.callback_hours,
            "currency": config.currency,
        }
    ]
    return {
        name: pl.DataFrame(rows[name], schema=schema, orient="row")
        if rows[name]
        else pl.DataFrame(schema=schema)
        for name, schema in CONFIG_SCHEMAS.items()
    }


def write_config_tables(config: Config) -> None:
    for name, frame in config_tables(config).items():
        write_parquet_atomic(frame, config.landing_dir / name / "config.parquet")


def outcome_stage_rows(config: Config) -> list[dict]:
    """Per CRM source: the stage names its own and its history sources' `status:` lists
    give, and the plain words won/lost (as the deals transform reads a status column)."""
    names: dict[tuple[str, str], str] = {}
    for source in config.sources:
        deals_source = source.history_of if source.kind == "crm_history" else source.name
        if source.kind == "calls" or deals_source is None:
            continue
        for status in ("won", "lost"):
            for name in [status, *getattr(source.status, status)]:
                names.setdefault((deals_source, name.strip().lower()), status)
    return [
        {"source": source, "crm_stage": stage, "status": status}
        for (source, stage), status in sorted(names.items())
    ]
