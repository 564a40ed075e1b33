"""Funnel definitions reach dbt as tables generated from the config, never copied into SQL."""

import datetime as dt

import polars as pl

from pipeline.config import load_config
from pipeline.funnel_tables import config_tables
from pipeline.paths import REPO_ROOT


def tables():
    return config_tables(load_config(REPO_ROOT / "voronka.yaml"))


def test_stages_keep_the_config_order_and_rules():
    stages = tables()["config_stages"].filter(pl.col("funnel_id") == "doors").sort("stage_order")
    assert stages["stage_key"].to_list() == [
        "call",
        "measurer_invited",
        "measurer_visit",
        "store_visit",
        "paid",
    ]
    assert stages["stage_rule"].to_list() == [
        "calls",
        "crm_stages",
        "crm_stages",
        "crm_stages",
        "crm_status",
    ]
    assert stages.row(0, named=True)["call_direction"] == "inbound"


def test_a_stage_of_answered_calls_needs_a_conversation_unless_it_says_otherwise():
    """`calls.conversation_min_s` is the least talk time of a stage of answered calls that
    gives none of its own; a stage's `min_talk_s` wins; a stage open to missed calls has
    none."""
    config = load_config(REPO_ROOT / "voronka.yaml")
    assert config.calls.conversation_min_s == 30
    doors = config.funnel("doors")
    answered, *_ = doors.stages
    variants = {
        "default": answered.calls,
        "own": answered.calls.model_copy(update={"min_talk_s": 5}),
        "either": answered.calls.model_copy(update={"answered": None}),
        "missed": answered.calls.model_copy(update={"answered": False}),
    }
    config = config.model_copy(
        update={"calls": config.calls.model_copy(update={"conversation_min_s": 45})}
    )
    least = {}
    for name, rule in variants.items():
        funnel = doors.model_copy(
            update={"stages": [answered.model_copy(update={"calls": rule}), *doors.stages[1:]]}
        )
        stages = config_tables(config.model_copy(update={"funnels": [funnel]}))["config_stages"]
        least[name] = stages.filter(pl.col("stage_order") == 1)["call_min_talk_s"].item()
    assert least == {"default": 45, "own": 5, "either": None, "missed": None}


def test_renamed_crm_stage_maps_with_its_validity_dates():
    stage_map = tables()["config_stage_map"].filter(pl.col("stage_key") == "measurer_invited")
    by_name = {row["crm_stage"]: row for row in stage_map.iter_rows(named=True)}
    assert by_name["Замер назначен"]["valid_to"] == dt.date(2025, 6, 30)
    assert by_name["Вызов замерщика"]["valid_from"] == dt.date(2025, 7, 1)
    assert by_name["Вызов замерщика"]["crm_pipeline"] == "Розница"


def test_lines_and_excluded_phones_are_e164():
    all_tables = tables()
    lines = all_tables["config_funnel_lines"]
    assert lines.filter(pl.col("funnel_id") == "doors")["line"].to_list() == ["+74951112233"]
    assert "+74950000000" in all_tables["config_exclude_phones"]["client_phone"].to_list()


def test_custom_segment_names_its_attribute():
    segments = tables()["config_segments"].filter(pl.col("funnel_id") == "doors")
    assert segments.rows() == [
        ("doors", "total", None),
        ("doors", "manager", None),
        ("doors", "lead_source", None),
        ("doors", "city", "city"),
    ]
