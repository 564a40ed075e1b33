"""A deal won, reopened and won again reaches "won" at its first win.

Three monthly exports of one generic deals list: D1 is won on 25 August (its close
date in the export of 1 September), back at `New` with no close date on 1 October, and won
again on 20 October (the export of 1 November). The contract: the first entry into a stage
counts. So the period view counts D1's win in August, not October, and its reach of won is
25 August; revenue counts the deal closed for good, in October, in Moscow and New York.
Expected from the rows written here."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.config import load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.reliability.tiny_project import CONFIG

HEADER = "Deal,Created,Stage,Owner,Phone,Closed\n"
EXPORTS = {
    # file name (its snapshot time) → D1's row; D2 is a deal that stays open throughout
    "deals_2026-09-01_0000.csv": "D1,2026-08-05 10:00,Won,Anna,+79160000001,2026-08-25 15:00",
    "deals_2026-10-01_0000.csv": "D1,2026-08-05 10:00,New,Anna,+79160000001,",
    "deals_2026-11-02_1000.csv": "D1,2026-08-05 10:00,Won,Anna,+79160000001,2026-10-20 15:00",
}
OPEN_DEAL = "D2,2026-08-06 10:00,New,Anna,+79160000002,"


def _project(folder, zone: str = "Europe/Moscow"):
    folder.mkdir()
    text = CONFIG.replace('client_phone: "Phone"}', 'client_phone: "Phone", closed_at: "Closed"}')
    text = text.replace("timezone: Europe/Moscow", f"timezone: {zone}")
    (folder / "voronka.yaml").write_text(text, encoding="utf-8")
    config = load_config(folder / "voronka.yaml")
    (config.inbox_dir / "crm").mkdir(parents=True)
    return config


def _deliver(config, names) -> None:
    for name in names:
        path = config.inbox_dir / "crm" / name
        path.write_text(f"{HEADER}{EXPORTS[name]}\n{OPEN_DEAL}\n", encoding="utf-8")
    ingest_inbox(config, settle_seconds=0)


def _wins(config) -> tuple[list, list]:
    """(the period view's wins by month, revenue's won deals by month)."""
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        won_by_month = con.execute(
            "select month, entities from marts.funnel_stage_monthly"
            " where view = 'period' and segment_type = 'total' and stage_key = 'won'"
            " and entities > 0 order by month"
        ).fetchall()
        revenue = con.execute(
            "select month, won_deals from marts.revenue_monthly"
            " where segment_type = 'total' and won_deals > 0"
        ).fetchall()
    return [(str(m), n) for m, n in won_by_month], [(str(m), n) for m, n in revenue]


@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/New_York"])
def test_the_first_win_counts_when_a_deal_is_won_again(tmp_path, zone) -> None:
    # The exports' times are local: the months are the same in any zone.
    config = _project(tmp_path / "all", zone)
    _deliver(config, list(EXPORTS))
    build_warehouse(config)
    assert _wins(config) == ([("2026-08-01", 1)], [("2026-10-01", 1)])


def test_built_export_by_export_the_first_win_still_counts(tmp_path) -> None:
    config = _project(tmp_path / "monthly")
    expected_revenue = {0: [("2026-08-01", 1)], 1: [], 2: [("2026-10-01", 1)]}
    for index, name in enumerate(EXPORTS):
        _deliver(config, [name])
        build_warehouse(config)
        assert _wins(config) == ([("2026-08-01", 1)], expected_revenue[index]), name
