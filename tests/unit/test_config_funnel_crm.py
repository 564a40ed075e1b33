"""A funnel's CRM deals: a pipeline, or every deal of the source; stage names as plain strings."""

from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config
from pipeline.funnel_tables import config_tables

LEAD_LIST = """\
sources:
  - {name: leads, kind: crm, preset: generic, files: "*.csv",
     columns: {deal_id: ID, created_at: Opened}, stage: {value: new}}
funnels:
  - id: f
    name: {ru: Ф, en: F}
    crm: [{source: leads}]
    stages:
      - {key: lead, name: {ru: А, en: A}, crm_stages: ["new"]}
      - key: won
        name: {ru: Б, en: B}
        crm_stages: ["Won", {name: "Signed", valid_to: 2025-06-30}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "voronka.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_funnel_without_pipeline_takes_every_deal_of_the_source(tmp_path):
    config = load_config(write(tmp_path, LEAD_LIST))
    crm = config.funnel("f").crm[0]
    assert crm.pipeline is None
    assert crm.covers("leads", None) and crm.covers("leads", "any pipeline")
    assert not crm.covers("other", None)
    tables = config_tables(config)
    assert tables["config_funnel_crm"].to_dicts() == [
        {"funnel_id": "f", "source": "leads", "crm_pipeline": None}
    ]
    assert set(tables["config_stage_map"]["crm_pipeline"].to_list()) == {None}


def test_a_named_pipeline_covers_only_its_deals(tmp_path):
    config = load_config(
        write(tmp_path, LEAD_LIST.replace("{source: leads}", "{source: leads, pipeline: P}"))
    )
    crm = config.funnel("f").crm[0]
    assert (
        crm.covers("leads", "P") and not crm.covers("leads", "Q") and not crm.covers("leads", None)
    )


def test_crm_stages_accept_plain_names(tmp_path):
    stages = load_config(write(tmp_path, LEAD_LIST)).funnel("f").stages
    assert [name.name for name in stages[0].crm_stages] == ["new"]
    assert [(n.name, str(n.valid_to)) for n in stages[1].crm_stages] == [
        ("Won", "None"),
        ("Signed", "2025-06-30"),
    ]


def test_a_source_listed_with_and_without_pipeline_is_refused(tmp_path):
    text = LEAD_LIST.replace("[{source: leads}]", "[{source: leads}, {source: leads, pipeline: P}]")
    with pytest.raises(ConfigError, match="crm source 'leads' is listed twice"):
        load_config(write(tmp_path, text))
