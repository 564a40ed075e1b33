"""The demo exports: reproducible bytes, real formats, names the demo config knows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from pipeline.config import load_config, normalize_person_name
from pipeline.demo import DEFAULT_SEED, write_demo_exports
from pipeline.demo.expected import COHORT_COLUMNS
from pipeline.demo.scenario import BAD_DEAL_ID_START, SNAPSHOT_LOCAL, calendar_months
from pipeline.demo.simulate import build_world
from pipeline.paths import REPO_ROOT

DEALS = "crm/deals_2026-11-01_0600.csv"
HISTORY = "crm/history_2026-11-01_0600.csv"
EARLY_DEALS = "crm/deals_2026-06-30_2359.csv"
EARLY_HISTORY = "crm/history_2026-06-30_2359.csv"
CRM_FILES = (EARLY_DEALS, DEALS, EARLY_HISTORY, HISTORY)
PBX_FILES = ("pbx/Master-2025.csv", "pbx/Master-copy.csv", "pbx/Master.csv")
CRM_TIME = "%d.%m.%Y %H:%M"
PBX_TIME = "%Y-%m-%d %H:%M:%S"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    summary = write_demo_exports(root / "inbox", root / "expected")
    return root, summary


@pytest.fixture(scope="module")
def config():
    return load_config(REPO_ROOT / "voronka.yaml")


def crm_rows(path) -> list[list[str]]:
    return list(
        csv.reader(io.StringIO(path.read_bytes().decode("cp1251"), newline=""), delimiter=";")
    )


def pbx_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def parses(value: str, pattern: str) -> bool:
    try:
        dt.datetime.strptime(value, pattern)
    except ValueError:
        return False
    return True


def test_same_seed_gives_identical_bytes_and_another_seed_differs(demo, tmp_path):
    root, summary = demo
    again = write_demo_exports(
        tmp_path / "same" / "inbox", tmp_path / "same" / "expected", DEFAULT_SEED
    )
    assert again == summary
    for name in summary.files:
        assert (tmp_path / "same" / "inbox" / name).read_bytes() == (
            root / "inbox" / name
        ).read_bytes()
    for name in summary.expected_files:
        assert (tmp_path / "same" / "expected" / name).read_bytes() == (
            root / "expected" / name
        ).read_bytes()
    other = write_demo_exports(
        tmp_path / "other" / "inbox", tmp_path / "other" / "expected", seed=1
    )
    for name in other.files:
        assert (tmp_path / "other" / "inbox" / name).read_bytes() != (
            root / "inbox" / name
        ).read_bytes()


def test_summary_lists_every_file_written(demo):
    root, summary = demo
    assert set(summary.files) == set(PBX_FILES + CRM_FILES)
    assert summary.snapshot_at == dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)
    assert summary.prospects["doors"] > summary.prospects["b2b"] > summary.prospects["key_accounts"]
    for name in summary.files:
        assert (root / "inbox" / name).exists()


def test_crm_files_are_cp1251_semicolon_crlf_with_the_stated_columns(demo):
    root, summary = demo
    for name in CRM_FILES:
        data = (root / "inbox" / name).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n")
        rows = crm_rows(root / "inbox" / name)
        width = 13 if "deals" in name else 4
        assert rows[0][0] == "ID сделки" and len(rows[0]) == width
        assert all(len(row) == width for row in rows[1:])
        assert len(rows) - 1 == summary.rows[name]


def test_pbx_files_are_asterisk_rows_with_17_columns_except_the_bad_ones(demo):
    root, summary = demo
    for name in PBX_FILES:
        data = (root / "inbox" / name).read_bytes()
        assert b"\r" not in data and data.endswith(b"\n")
        rows = pbx_rows(root / "inbox" / name)
        good = [row for row in rows if len(row) == 17 and parses(row[9], PBX_TIME)]
        assert len(rows) - len(good) == summary.bad_rows[name]
        for row in good:
            start, answer, end = row[9], row[10], row[11]
            assert (
                int(row[12])
                == (
                    dt.datetime.strptime(end, PBX_TIME) - dt.datetime.strptime(start, PBX_TIME)
                ).seconds
            )
            if row[14] == "ANSWERED":
                billsec = dt.datetime.strptime(end, PBX_TIME) - dt.datetime.strptime(
                    answer, PBX_TIME
                )
                assert int(row[13]) == billsec.seconds
            else:
                assert answer == "" and row[13] == "0"
        quoted = r'"(?:[^"]|"")*"'
        shape = re.compile(rf"(?:{quoted},){{12}}\d+,\d+,(?:{quoted},){{2}}{quoted}")
        lines = data.decode("utf-8").splitlines()
        assert sum(bool(shape.fullmatch(line)) for line in lines) == sum(len(r) == 17 for r in rows)


def test_pbx_duplicates_are_a_copied_file_and_a_two_day_overlap(demo):
    root, _ = demo
    inbox = root / "inbox"
    assert (inbox / "pbx/Master-copy.csv").read_bytes() == (
        inbox / "pbx/Master-2025.csv"
    ).read_bytes()
    early = {row[16]: row for row in pbx_rows(inbox / "pbx/Master-2025.csv")}
    late = {row[16]: row for row in pbx_rows(inbox / "pbx/Master.csv") if len(row) == 17}
    shared = set(early) & set(late)
    assert shared and all(early[key] == late[key] for key in shared)
    assert all(early[key][9][:10] in ("2026-01-01", "2026-01-02") for key in shared)


def test_bad_rows_are_few_and_belong_to_no_deal(demo):
    root, summary = demo
    for name in summary.files:
        assert summary.bad_rows[name] < 0.005 * summary.rows[name]
    assert (
        summary.bad_rows[DEALS] >= 5
        and summary.bad_rows[HISTORY] >= 3
        and summary.bad_rows["pbx/Master.csv"] >= 5
    )
    for name in (DEALS, HISTORY):
        date_column = 7 if name == DEALS else 2
        bad = [
            row
            for row in crm_rows(root / "inbox" / name)[1:]
            if not parses(row[date_column], CRM_TIME)
        ]
        assert len(bad) == summary.bad_rows[name]
        assert all(int(row[0]) >= BAD_DEAL_ID_START for row in bad)


def test_every_name_written_is_known_to_the_demo_config(demo, config):
    root, _ = demo
    crm_source = config.source("crm")
    pipelines = {crm.pipeline: funnel for funnel in config.funnels for crm in funnel.crm}
    status_names = set(crm_source.status.won) | set(crm_source.status.lost)
    aliases = config.manager_aliases()
    for name in CRM_FILES:
        rows = crm_rows(root / "inbox" / name)[1:]
        for row in rows:
            if int(row[0]) >= BAD_DEAL_ID_START:
                continue
            manager = row[4] if "deals" in name else row[3]
            assert normalize_person_name(manager) in aliases, manager
            if "deals" in name:
                funnel = pipelines[row[2]]
                stage, on = row[3], dt.datetime.strptime(name[-19:-9], "%Y-%m-%d").date()
            else:
                stage, on = row[1], dt.datetime.strptime(row[2], CRM_TIME).date()
                funnel = None
            if stage in status_names:
                continue
            funnels = [funnel] if funnel else config.funnels
            valid = {
                crm_stage.name
                for f in funnels
                for configured in f.stages
                for crm_stage in configured.crm_stages
                if (crm_stage.valid_from is None or crm_stage.valid_from <= on)
                and (crm_stage.valid_to is None or on <= crm_stage.valid_to)
            }
            assert stage in valid, (name, row)
    lines = {line for funnel in config.funnels if funnel.calls for line in funnel.calls.lines}
    for row in pbx_rows(root / "inbox" / "pbx/Master.csv") + pbx_rows(
        root / "inbox" / "pbx/Master-2025.csv"
    ):
        if len(row) != 17:
            continue
        if row[3] == "from-trunk":
            assert "+" + row[2] in lines
            extensions = [row[6].split("/")[1].split("-")[0]]
        else:
            extensions = [row[1]]
            if len(row[2]) <= 4:
                extensions.append(row[2])  # internal call
            else:
                assert "+" + row[0] in lines
        for extension in extensions:
            assert normalize_person_name(f"ext:{extension}") in aliases


def test_no_event_after_the_final_snapshot(demo):
    root, _ = demo
    for row in crm_rows(root / "inbox" / DEALS)[1:]:
        for value in (row[7], row[8]):
            if parses(value, CRM_TIME):
                assert dt.datetime.strptime(value, CRM_TIME) <= SNAPSHOT_LOCAL
    for row in crm_rows(root / "inbox" / HISTORY)[1:]:
        if parses(row[2], CRM_TIME):
            assert dt.datetime.strptime(row[2], CRM_TIME) <= SNAPSHOT_LOCAL
    for row in pbx_rows(root / "inbox" / "pbx/Master.csv"):
        if len(row) == 17 and parses(row[11], PBX_TIME):
            assert dt.datetime.strptime(row[11], PBX_TIME) <= SNAPSHOT_LOCAL


def test_earlier_snapshot_is_the_state_at_its_time(demo):
    root, _ = demo
    early = {row[0]: row for row in crm_rows(root / "inbox" / EARLY_DEALS)[1:]}
    late = {row[0]: row for row in crm_rows(root / "inbox" / DEALS)[1:]}
    assert set(early) < set(late)
    cutoff = dt.datetime(2026, 6, 30, 23, 59)
    assert all(dt.datetime.strptime(row[7], CRM_TIME) <= cutoff for row in early.values())
    assert any(early[key][3] != late[key][3] for key in early)  # some deals moved on since
    history_early = crm_rows(root / "inbox" / EARLY_HISTORY)[1:]
    history_late = {tuple(row[:3]) for row in crm_rows(root / "inbox" / HISTORY)[1:]}
    assert all(tuple(row[:3]) in history_late for row in history_early)


def test_phones_are_unique_per_prospect():
    world = build_world(DEFAULT_SEED)
    phones = [phone for prospect in world.prospects for phone in prospect.phones]
    assert len(phones) == len(set(phones))
    noise = {call.client_phone for call in world.noise_calls if call.client_phone}
    assert noise.isdisjoint(phones)


def test_deal_cells_use_local_phone_spellings(demo):
    root, _ = demo
    cells = [row[10] for row in crm_rows(root / "inbox" / DEALS)[1:]]
    assert any(cell.startswith("8 (") for cell in cells)
    assert any(cell.startswith("+7 ") for cell in cells)
    assert any(re.fullmatch(r"7\d{10}", cell) for cell in cells)
    two = sum(", " in cell for cell in cells) / len(cells)
    assert 0.05 < two < 0.15


def test_expected_files_are_written(demo):
    root, summary = demo
    text = (root / "expected" / "expected_cohorts.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COHORT_COLUMNS
    assert len(rows) == summary.rows["expected_cohorts.csv"]
    doors_total = [r for r in rows if r["funnel_id"] == "doors" and r["segment_type"] == "total"]
    assert {r["cohort_month"] for r in doors_total} == {
        f"{m.year}-{m.month:02d}-01" for m in calendar_months()
    }
    parameters = json.loads((root / "expected" / "parameters.json").read_text(encoding="utf-8"))
    assert parameters["seed"] == DEFAULT_SEED
    assert parameters["funnels"]["doors"]["WEAKEST"] == {
        "manager": "Васильев Олег",
        "from_stage": "measurer_visit",
    }


def test_crm_file_names_state_the_local_snapshot_time(demo):
    # A bare date in the name would read as 00:00, before the export's last events.
    _, summary = demo
    stamps = {
        dt.datetime.strptime(re.search(r"_(\d{4}-\d\d-\d\d_\d{4})\.csv$", name)[1], "%Y-%m-%d_%H%M")
        for name in summary.files
        if name.startswith("crm/")
    }
    assert stamps == {SNAPSHOT_LOCAL, dt.datetime(2026, 6, 30, 23, 59)}


def test_in_another_zone_the_same_instants_are_written_on_that_zones_wall_clock(demo, tmp_path):
    """Vladivostok is UTC+10, Moscow UTC+3: every time 7 h later, the same calls (Asterisk's
    uniqueid is the UTC start), file names at the local snapshot time, cohorts by local month."""
    root, _ = demo
    summary = write_demo_exports(
        tmp_path / "inbox", tmp_path / "expected", timezone="Asia/Vladivostok"
    )
    later = dt.timedelta(hours=7)
    assert set(summary.files) == {
        *PBX_FILES,
        "crm/deals_2026-11-01_1300.csv",
        "crm/history_2026-11-01_1300.csv",
        "crm/deals_2026-07-01_0659.csv",
        "crm/history_2026-07-01_0659.csv",
    }
    moscow_calls = pbx_rows(root / "inbox" / "pbx" / "Master.csv")
    local_calls = pbx_rows(tmp_path / "inbox" / "pbx" / "Master.csv")
    assert len(local_calls) == len(moscow_calls)
    for moscow, local in zip(moscow_calls, local_calls, strict=True):
        if len(moscow) == 17 and parses(moscow[9], PBX_TIME):  # not a planted bad row
            assert local[16] == moscow[16]
            shifted = dt.datetime.strptime(moscow[9], PBX_TIME) + later
            assert local[9] == shifted.strftime(PBX_TIME)
    moscow_deals = crm_rows(root / "inbox" / DEALS)
    local_deals = crm_rows(tmp_path / "inbox" / "crm" / "deals_2026-11-01_1300.csv")
    for moscow, local in zip(moscow_deals[1:], local_deals[1:], strict=True):
        if parses(moscow[7], CRM_TIME):
            shifted = dt.datetime.strptime(moscow[7], CRM_TIME) + later
            assert local[7] == shifted.strftime(CRM_TIME)
    parameters = json.loads((tmp_path / "expected" / "parameters.json").read_text())
    assert parameters["calendar"]["timezone"] == "Asia/Vladivostok"
    assert parameters["calendar"]["snapshot_local"] == "2026-11-01T13:00:00"
