"""A deal moved from one CRM pipeline to another: what an export showed of it while it was
in the first pipeline is no entry into the second pipeline's funnel, nor an unmapped stage
of it.

Two monthly exports of one generic deals list with a `Pipeline` column; two funnels, one
per pipeline, both with a stage named `Talks`. D1 is at Primary's `Talks` on 1 September
and at Sales' `Brief` on 1 October (handed over); D4 is at Primary's `Qualify` (a name
Sales does not have), then at Sales' `Brief`; D5 was won in Primary, then reopened at
Sales' `Brief`. The deals belong to the funnel of their latest pipeline (docs/contracts.md
"Every deal counts"): D1, D4 and D5 reach Sales' `Brief`, not its `Talks` nor its won
stage, and `Qualify` is no unmapped stage of Sales. The expected stages come
from a plain-Python reading of the rows written here."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.config import load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse

CONFIG = """\
timezone: {zone}
locales: [en]
paths: {{inbox: inbox, landing: landing, warehouse: warehouse/w.duckdb, reports: reports}}
privacy: {{phone_hash_key: test-key}}
sources:
  - name: crm
    kind: crm
    preset: generic
    files: "crm/deals_*.csv"
    columns: {{deal_id: "Deal", created_at: "Created", stage: "Stage", manager: "Owner",
              client_phone: "Phone", crm_pipeline: "Pipeline"}}
    status: {{won: ["Won"], lost: ["Lost"]}}
    formats: {{date: "%Y-%m-%d %H:%M", delimiter: ","}}
funnels:
  - id: primary
    name: {{ru: Primary, en: Primary}}
    crm: [{{source: crm, pipeline: Primary}}]
    window_days: 60
    stages:
      - {{key: new, name: {{ru: New, en: New}}, crm_stages: [{{name: New}}, {{name: Qualify}}]}}
      - {{key: talks, name: {{ru: Talks, en: Talks}}, crm_stages: [{{name: Talks}}]}}
      - {{key: won, name: {{ru: Won, en: Won}}, crm_status: won}}
  - id: sales
    name: {{ru: Sales, en: Sales}}
    crm: [{{source: crm, pipeline: Sales}}]
    window_days: 60
    stages:
      - {{key: brief, name: {{ru: Brief, en: Brief}}, crm_stages: [{{name: Brief}}]}}
      - {{key: talks, name: {{ru: Talks, en: Talks}}, crm_stages: [{{name: Talks}}]}}
      - {{key: contract, name: {{ru: Contract, en: Contract}}, crm_stages: [{{name: Contract}}]}}
      - {{key: won, name: {{ru: Won, en: Won}}, crm_status: won}}
"""
HEADER = "Deal,Created,Stage,Owner,Phone,Pipeline\n"
# file name (its snapshot time) → rows (deal, created, stage, owner, phone, pipeline)
EXPORTS = {
    "deals_2026-09-01_0000.csv": [
        ("D1", "2026-08-05 10:00", "Talks", "Anna", "+79160000001", "Primary"),
        ("D2", "2026-08-06 10:00", "New", "Anna", "+79160000002", "Primary"),
        ("D3", "2026-08-07 10:00", "Talks", "Boris", "+79160000003", "Sales"),
        ("D4", "2026-08-08 10:00", "Qualify", "Anna", "+79160000004", "Primary"),
        ("D5", "2026-08-09 10:00", "Won", "Anna", "+79160000005", "Primary"),
    ],
    "deals_2026-10-01_0000.csv": [
        ("D1", "2026-08-05 10:00", "Brief", "Boris", "+79160000001", "Sales"),
        ("D2", "2026-08-06 10:00", "Talks", "Anna", "+79160000002", "Primary"),
        ("D3", "2026-08-07 10:00", "Contract", "Boris", "+79160000003", "Sales"),
        ("D4", "2026-08-08 10:00", "Brief", "Boris", "+79160000004", "Sales"),
        ("D5", "2026-08-09 10:00", "Brief", "Boris", "+79160000005", "Sales"),
    ],
}


def expected_stages() -> set[tuple[str, str, str]]:
    """(funnel, deal, stage) of every stage a deal reaches: each deal in the funnel of its
    latest pipeline, from its creation (the first stage) and the stages shown while it was
    in that pipeline, every earlier stage implied."""
    stages = {
        "Primary": ("primary", ["new", "talks", "won"], {"New": 0, "Qualify": 0, "Talks": 1}),
        "Sales": ("sales", ["brief", "talks", "contract"], {"Brief": 0, "Talks": 1, "Contract": 2}),
    }
    sightings: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(EXPORTS):  # the names sort by snapshot time
        for deal, _, stage, _, _, pipeline in EXPORTS[name]:
            sightings.setdefault(deal, []).append((pipeline, stage))
    reached = set()
    for deal, seen in sightings.items():
        latest = seen[-1][0]
        funnel, keys, positions = stages[latest]
        furthest = max(positions[stage] for pipeline, stage in seen if pipeline == latest)
        reached |= {(funnel, deal, key) for key in keys[: furthest + 1]}
    return reached


@pytest.fixture(scope="module", params=["Europe/Moscow", "America/New_York"])
def site(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("moved")
    (folder / "voronka.yaml").write_text(CONFIG.format(zone=request.param), encoding="utf-8")
    config = load_config(folder / "voronka.yaml")
    (config.inbox_dir / "crm").mkdir(parents=True)
    for name, rows in EXPORTS.items():
        lines = "".join(",".join(row) + "\n" for row in rows)
        (config.inbox_dir / "crm" / name).write_text(HEADER + lines, encoding="utf-8")
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        yield con


def test_a_moved_deal_reaches_only_what_its_funnels_pipeline_showed(site) -> None:
    rows = site.execute(
        "select funnel_id, entity_id, stage_key from marts.funnel_entities"
    ).fetchall()
    assert {(funnel, entity.split(":")[-1], stage) for funnel, entity, stage in rows} == (
        expected_stages()
    )


def test_a_stage_of_the_pipeline_a_deal_left_is_not_unmapped(site) -> None:
    assert site.execute("select * from marts.unmapped_stages").fetchall() == []
