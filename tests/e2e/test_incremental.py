"""Incremental months: a build on top of a previous one equals a full rebuild.

The demo's exports are fed in two deliveries: first the calls up to June 2026 and the CRM
export of 30 June, then the rest of the calls and the final export. The second build
recomputes only the months from its boundary on (pipeline/incremental.py); every mart and
every incremental table must equal a full rebuild on the same landing, row for row, but
for the stage entries of older cohorts: they keep the calls they were built with, and
each call entry they lack follows an exact entry of the same entity into the same stage
(a later entry changes no stage row). A third delivery re-exports one old deal, and its
history, with another manager: the boundary moves back to that deal's cohort, its
forecast periods of months before the periods' boundary are recomputed (the plan's deals
table), and the result again equals a full rebuild. Then June's history of that deal is
sent again: its older copies win back, and the result equals a full rebuild.

A call centre's month: regular numbers (some of the first month's deals, some numbers
with no deal) call in every month of the demo; the history is built, then October 2026's
calls arrive alone. The plan recomputes the entities from that month and the monthly mart
from that month less the funnels' windows, not from the first month those numbers called
in, and the result equals a full rebuild.
"""

from __future__ import annotations

import csv
import datetime as dt
import io as text_io
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest
import yaml

from bench.checks import close_rows, significant
from pipeline import io, warehouse
from pipeline.demo import write_demo_exports
from pipeline.demo.scenario import calendar_months
from pipeline.demo.simulate import Call, build_world
from pipeline.demo.writers import asterisk_line, call_fields, crm_bytes
from pipeline.incremental import (
    CRM_AND_CONFIG_TAG,
    NOTHING_TO_RECOMPUTE,
    RebuildPlan,
    plan_rebuild,
)
from pipeline.ingest import ingest_inbox
from pipeline.paths import REPO_ROOT
from pipeline.warehouse import build_warehouse
from tests.helpers import DEMO_ZONE, copy_demo_config

SPLIT_AT = "2026-07-01"
FIRST_DELIVERY = [
    "pbx/Master-2025.csv",
    "pbx/Master-copy.csv",
    "crm/deals_2026-06-30_2359.csv",
    "crm/history_2026-06-30_2359.csv",
]
SECOND_DELIVERY = ["crm/deals_2026-11-01_0600.csv", "crm/history_2026-11-01_0600.csv"]
# Tables compared: every mart, and the incremental intermediate tables.
SCHEMAS = ("marts", "intermediate", "staging")
# Its older cohorts keep the call entries they were built with (pipeline/incremental.py).
STAGE_ENTRIES = "intermediate.int_stage_entries_unioned"


def split_calls(master: Path, at: str = SPLIT_AT, since: str = "2026-01-01") -> tuple[bytes, bytes]:
    """Master.csv's records from `since` to before `at`, and the others (later ones, broken
    rows)."""
    early, late = [], []
    for line in master.read_text(encoding="utf-8").splitlines(keepends=True):
        fields = next(csv.reader(text_io.StringIO(line)), [])
        started = fields[9] if len(fields) > 9 else ""
        (early if since <= started < at else late).append(line)
    return "".join(early).encode(), "".join(late).encode()


def read_export(path: Path) -> tuple[list[str], list[list[str]]]:
    """A demo CRM export's header and rows (cp1251, `;`)."""
    header, *rows = csv.reader(path.read_bytes().decode("cp1251").splitlines(), delimiter=";")
    return header, rows


def deliver(exports: Path, inbox: Path, names: list[str]) -> None:
    for name in names:
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(exports / name, inbox / name)


def table_rows(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table of the compared schemas, rows sorted, doubles to 10 significant digits."""
    tables: dict[str, list[tuple]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ?",
            [list(SCHEMAS)],
        ).fetchall()
        for schema, table in names:
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = ? and table_name = ? order by column_index",
                [schema, table],
            ).fetchall()
            select = ", ".join(
                significant(f'"{name}"') if kind == "DOUBLE" else f'"{name}"'
                for name, kind in columns
            )
            rows = con.execute(f'select {select} from "{schema}"."{table}"').fetchall()
            tables[f"{schema}.{table}"] = sorted(rows, key=repr)
    return tables


def assert_equals_full_rebuild(config, tmp_path: Path, label: str) -> None:
    incremental = tmp_path / f"{label}-incremental.duckdb"
    shutil.copy(config.warehouse_path, incremental)
    config.warehouse_path.unlink()
    build_warehouse(config)
    full = table_rows(config.warehouse_path)
    built = table_rows(incremental)
    assert built.keys() == full.keys()
    assert any(name.startswith("marts.") for name in full)
    differing = [
        name for name in full if name != STAGE_ENTRIES and not close_rows(built[name], full[name])
    ]
    assert not differing, f"{label}: incremental differs from a full rebuild in {differing}"
    assert sum(len(rows) for rows in full.values()) > 10_000
    assert_later_call_entries_only_missing(built[STAGE_ENTRIES], full[STAGE_ENTRIES], label)


def assert_later_call_entries_only_missing(built: list[tuple], full: list[tuple], label) -> None:
    """The incremental build's stage entries are the full build's, less call entries that
    follow an exact entry of the same entity into the same stage (columns: funnel_id,
    entity_id, stage_key, stage_order, entered_at, entered_by, is_exact, entry_kind, ...)."""
    extra = set(built) - set(full)
    assert not extra, f"{label}: stage entries a full rebuild does not have: {sorted(extra)[:3]}"
    first_exact: dict[tuple, dt.datetime] = {}
    for funnel_id, entity_id, _, order, entered_at, _, is_exact, *_ in built:
        key = (funnel_id, entity_id, order)
        if is_exact and (key not in first_exact or entered_at < first_exact[key]):
            first_exact[key] = entered_at
    for row in set(full) - set(built):
        funnel_id, entity_id, _, order, entered_at, _, is_exact, kind, *_ = row
        earlier = first_exact.get((funnel_id, entity_id, order))
        assert kind == "call" and is_exact, f"{label}: a missing entry not a call's: {row}"
        assert earlier is not None and earlier <= entered_at, (
            f"{label}: a first entry missing: {row}"
        )


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("incremental")
    config = copy_demo_config(root)
    exports = root / "exports"
    write_demo_exports(exports, root / "expected")
    early, late = split_calls(exports / "pbx/Master.csv")
    (exports / "pbx/Master-2026-1.csv").write_bytes(early)
    (exports / "pbx/Master-2026-2.csv").write_bytes(late)
    return config, exports, root


def test_second_delivery_recomputes_from_a_boundary_and_equals_a_full_rebuild(
    deliveries, monkeypatch
):
    config, exports, root = deliveries
    target = root / "dbt-target-second"  # this test's own dbt artifacts: run_results.json
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    deliver(exports, config.inbox_dir, [*FIRST_DELIVERY, "pbx/Master-2026-1.csv"])
    ingest_inbox(config, settle_seconds=0)
    first = plan_rebuild(config, config.warehouse_path)
    assert first.full and first.reason == "no previous build"
    build_warehouse(config)

    deliver(exports, config.inbox_dir, [*SECOND_DELIVERY, "pbx/Master-2026-2.csv"])
    ingest_inbox(config, settle_seconds=0)
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full, plan.describe()
    # Not all months (the cohorts start in November 2024), and in the monthly mart the
    # doors' 90-day window recomputes fewer than the key accounts' 180 days.
    assert min(plan.marts_rebuild_from.values()) > dt.date(2024, 11, 1), plan.describe()
    assert plan.marts_rebuild_from["doors"] > plan.marts_rebuild_from["key_accounts"]
    for funnel_id, month in plan.rebuild_from.items():
        assert plan.marts_rebuild_from[funnel_id] <= month, plan.describe()
    # Links and episodes from a day before the first new call (1 July) at the latest, and
    # earlier where a changed deal's creation less the link days is.
    assert max(plan.links_rebuild_from.values()) <= dt.date(2026, 6, 1), plan.describe()
    # The CRM staging tables read the new files only: the November history export repeats
    # June's entries, which stay as built (their first file, June's).
    assert plan.new_files is not None and len(plan.new_files) == 3, plan.describe()
    assert not plan.crm_unchanged  # new CRM files: the tables of CRM data are built again
    log: list[str] = []
    build_warehouse(config, progress=log.append)
    assert any(line.startswith("incremental: cohort months") for line in log), log[:3]
    # New CRM files: the grain of every table of CRM data is checked again.
    assert crm_grain_checks(target) == dict.fromkeys(CRM_GRAIN_TESTED, True)
    assert_equals_full_rebuild(config, root, "second")


def manager_names() -> dict[str, str]:
    """Each manager's name and alias in the demo's voronka.yaml → the manager's name."""
    document = yaml.safe_load((REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8"))
    return {
        alias: manager["name"]
        for manager in document["managers"]
        for alias in [manager["name"], *manager["aliases"]]
    }


def reassigned_deal(exports: Path) -> tuple[list[str], list[str], str]:
    """The deal the third delivery reassigns (the November export's first): the export's
    header, the deal's row there, and its new manager (another manager's name)."""
    header, rows = read_export(exports / SECOND_DELIVERY[0])
    manager, names = header.index("Ответственный"), manager_names()
    fields = rows[0]
    other = next(row[manager] for row in rows if names[row[manager]] != names[fields[manager]])
    return header, fields, other


def history_rows_of(exports: Path, name: str, deal_id: str) -> tuple[list[str], list[list[str]]]:
    """A demo history export's header and its rows of one deal."""
    header, rows = read_export(exports / name)
    deal = header.index("ID сделки")
    return header, [row for row in rows if row[deal] == deal_id]


def test_a_changed_old_deal_moves_the_boundary_back(deliveries):
    """The deal is reassigned: its row, and its history as June's export holds it, are
    exported again with the new manager."""
    config, exports, root = deliveries
    if not config.warehouse_path.exists():
        pytest.skip("needs the previous test's warehouse")
    header, fields, new_manager = reassigned_deal(exports)
    fields[header.index("Ответственный")] = new_manager
    reexport = config.inbox_dir / "crm/deals_2026-11-02_0600.csv"
    reexport.write_bytes(crm_bytes(header, [fields]))
    history_header, history = history_rows_of(exports, FIRST_DELIVERY[3], fields[0])
    assert history
    manager = history_header.index("Ответственный")
    for row in history:
        row[manager] = new_manager
    history_reexport = config.inbox_dir / "crm/history_2026-11-02_0600.csv"
    history_reexport.write_bytes(crm_bytes(history_header, history))
    ingest_inbox(config, settle_seconds=0)
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (cohort,) = con.execute(
            "select min(cohort_month) from marts.funnel_entities where entity_id like ?",
            [f"deal:%:{fields[0]}"],
        ).fetchone()
    assert min(plan.rebuild_from.values()) <= cohort, plan.describe()
    build_warehouse(config)
    assert_equals_full_rebuild(config, root, "third")


def test_a_backdated_export_recomputes_its_deals_cohorts_and_equals_a_full_rebuild(deliveries):
    """An export taken between two already built (15 September, between the June and
    November exports) with the two oldest deals open in June that November shows closed
    before 15 September, as November shows them: it changes only the entries inferred
    from those deals' snapshots (the close is entered on 15 September's sighting, and the
    November sighting, now unchanged, enters nothing: its built entry goes), so the plan
    recomputes from their cohorts (older than the maturity window: only the deals reach
    them), not everything, and the result equals a full rebuild."""
    config, exports, root = deliveries
    if not config.warehouse_path.exists():
        pytest.skip("needs the previous tests' warehouse")
    header, june = read_export(exports / FIRST_DELIVERY[2])
    stage, closed = header.index("Этап"), ("Успешно реализовано", "Закрыто и не реализовано")
    created, pipeline = header.index("Дата создания"), header.index("Воронка")
    _, november = read_export(exports / SECOND_DELIVERY[0])
    closed_at = header.index("Дата закрытия")
    closed_by_september = {
        row[0]: row
        for row in november
        if row[stage] in closed
        and dt.datetime.strptime(row[closed_at], "%d.%m.%Y %H:%M") < dt.datetime(2026, 9, 15)
    }
    open_in_june = [
        row
        for row in june
        if row[stage] not in closed and row[pipeline] == "Розница" and row[0] in closed_by_september
    ]
    oldest = sorted(
        open_in_june, key=lambda row: dt.datetime.strptime(row[created], "%d.%m.%Y %H:%M")
    )
    moved = [closed_by_september[row[0]] for row in oldest[:2]]
    assert len(moved) == 2
    backdated = config.inbox_dir / "crm/deals_2026-09-15_1200.csv"
    backdated.write_bytes(crm_bytes(header, moved))
    [result] = ingest_inbox(config, settle_seconds=0).files
    assert (result.status, result.rows_accepted) == ("loaded", 2), result
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full, plan.describe()
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (first,) = con.execute("select min(cohort_month) from marts.funnel_entities").fetchone()
        cohorts = con.execute(
            "select funnel_id, min(cohort_month) from marts.funnel_entities "
            "where entity_id like 'deal:%' and split_part(entity_id, ':', 3) in ? group by all",
            [[row[0] for row in moved]],
        ).fetchall()
    assert cohorts and first < min(plan.rebuild_from.values()), plan.describe()
    for funnel_id, cohort in cohorts:
        assert plan.rebuild_from[funnel_id] <= cohort, (funnel_id, cohort, plan.describe())
    build_warehouse(config)
    assert_equals_full_rebuild(config, root, "backdated")


def test_an_older_history_sent_again_wins_its_entries_back_and_equals_a_full_rebuild(deliveries):
    """A, B, A: June's history export holds the reassigned deal's entries with its first
    manager, and the built entries hold the new one (the third delivery's history
    re-export). June's rows of that deal sent again (a new file, cut to them) arrive
    later, so their copies win (the later arrival: docs/contracts.md), though none of
    their rows is new to landing and the plan marks no deal changed. The built entries
    take the first manager back, and the result equals a full rebuild: no model built by
    cohort month reads an exact entry's manager or entered_after."""
    config, exports, root = deliveries
    if not config.warehouse_path.exists():
        pytest.skip("needs the previous tests' warehouse")
    _, fields, new_manager = reassigned_deal(exports)
    header, june = history_rows_of(exports, FIRST_DELIVERY[3], fields[0])
    stage, entered, manager = (
        header.index(name) for name in ("Этап", "Дата перехода", "Ответственный")
    )
    names = manager_names()
    assert june and all(names[row[manager]] != names[new_manager] for row in june)
    (config.inbox_dir / "crm/history_2026-06-30_2359-sent-again.csv").write_bytes(
        crm_bytes(header, june)
    )
    [result] = ingest_inbox(config, settle_seconds=0).files
    assert (result.status, result.rows_accepted) == ("loaded", len(june)), result
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full and plan.new_files == (result.file_id,), plan.describe()
    # No cohort is recomputed (the first month after the built ones: the forecast's
    # new month), no link or episode.
    assert set(plan.links_rebuild_from.values()) == {NOTHING_TO_RECOMPUTE}, plan.describe()
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (last,) = con.execute("select max(cohort_month) from marts.funnel_entities").fetchone()
    assert min(plan.rebuild_from.values()) > last, plan.describe()
    zone = ZoneInfo(config.timezone)
    sent_again = {(row[stage], naive_utc(row[entered], zone)): names[row[manager]] for row in june}
    assert set(entry_managers(config.warehouse_path, fields[0]).values()) == {names[new_manager]}
    build_warehouse(config)
    assert entry_managers(config.warehouse_path, fields[0]) == sent_again
    assert_equals_full_rebuild(config, root, "sent-again")


def entry_managers(warehouse: Path, deal_id: str) -> dict[tuple[str, dt.datetime], str]:
    """(stage, entered_at: naive UTC, as the warehouse holds it) → manager of a deal's
    exact entries in staging."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kept = con.execute(
            "select stage, entered_at, manager from staging.stg_landing__crm_stage_events "
            "where is_exact and deal_id = ?",
            [deal_id],
        ).fetchall()
    return {(name, at): who for name, at, who in kept}


def naive_utc(text: str, zone: ZoneInfo) -> dt.datetime:
    """A demo CRM export's time (dd.mm.yyyy hh:mm on the zone's wall clock) as naive UTC."""
    local = dt.datetime.strptime(text, "%d.%m.%Y %H:%M").replace(tzinfo=zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def test_a_new_file_arriving_before_a_built_one_rebuilds_the_crm_staging_whole(deliveries):
    """A re-export whose ledger row says it arrived before the files already built (a
    clock set back): its copies would lose to the built ones, so the plan gives the CRM
    staging tables no new files and they read every file; the result equals a full
    rebuild, where the re-export's rows lose as they do here."""
    config, exports, root = deliveries
    if not config.warehouse_path.exists():
        pytest.skip("needs the previous tests' warehouse")
    header, rows = read_export(exports / SECOND_DELIVERY[1])
    manager = header.index("Ответственный")
    rows = rows[:50]
    for row in rows:
        row[manager] = "Переставлен Задним Числом"
    (config.inbox_dir / "crm/history_2026-11-03_0600.csv").write_bytes(crm_bytes(header, rows))
    [result] = ingest_inbox(config, settle_seconds=0).files
    assert result.status == "loaded", result
    ledger = io.read_ledger(config.landing_dir)
    earliest = ledger["received_at"].min()
    ledger = ledger.with_columns(
        pl.when(pl.col("file_id") == result.file_id)
        .then(pl.lit(earliest) - pl.duration(days=1))
        .otherwise(pl.col("received_at"))
        .alias("received_at")
    )
    ledger.write_parquet(io.ledger_path(config.landing_dir))
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full and plan.new_files is None, plan.describe()
    assert "CRM staging from every file" in plan.describe()
    build_warehouse(config)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (moved,) = con.execute(
            "select count(*) from staging.stg_landing__crm_stage_events where manager = ?",
            ["Переставлен Задним Числом"],
        ).fetchone()
    assert moved == 0  # the re-export arrived first: the built copies win
    assert_equals_full_rebuild(config, root, "arrived-before")


def test_the_plan_falls_back_to_a_full_rebuild_when_it_cannot_be_exact(deliveries):
    config, _, _ = deliveries
    if not config.warehouse_path.exists():
        pytest.skip("needs the previous tests' warehouse")
    untouched = plan_rebuild(config, config.warehouse_path)
    assert not untouched.full and untouched.reason == "no new files"
    assert set(untouched.rebuild_from.values()) == {NOTHING_TO_RECOMPUTE}
    assert set(untouched.marts_rebuild_from.values()) == {NOTHING_TO_RECOMPUTE}
    assert untouched.calls_rebuild_from == NOTHING_TO_RECOMPUTE

    moved = config.model_copy(update={"timezone": "Europe/Berlin"})
    changed = "models, macros, tests, config or engine changed"
    assert plan_rebuild(moved, config.warehouse_path).reason == changed

    ledger = io.read_ledger(config.landing_dir)
    built = ledger.filter(pl.col("path") == FIRST_DELIVERY[0])
    io.write_parquet_atomic(
        ledger.filter(pl.col("path") != FIRST_DELIVERY[0]), io.ledger_path(config.landing_dir)
    )
    assert built.height == 1
    plan = plan_rebuild(config, config.warehouse_path)
    assert plan.full and plan.reason == "1 file(s) removed", plan.reason


REGULAR_MONTHS = calendar_months()  # November 2024 to October 2026
NEW_MONTH = REGULAR_MONTHS[-1]
REGULARS = 12  # per funnel, with a deal of the first month; as many with no deal


def regular_calls() -> list[Call]:
    """Calls of regular numbers, one or two in every month of the demo: the phones of the
    first doors and b2b deals (inbound to doors, outbound from b2b, as their funnels'
    call stages count them) and numbers with no deal (their calls are call leads: one
    episode each, from the first month on, as a month is shorter than any window)."""
    world = build_world(20261101, "Europe/Moscow")
    calls = []
    for funnel_id, line_direction, extension in (("doors", "inbound", "101"),
                                                 ("b2b", "outbound", "201")):  # fmt: skip
        dealt = [p.phones[0] for p in world.prospects if p.funnel_id == funnel_id and p.deal]
        unknown = [f"+7999{funnel_id == 'b2b':d}{n:06d}" for n in range(REGULARS)]
        for n, phone in enumerate([*dealt[:REGULARS], *unknown]):
            for month in REGULAR_MONTHS:
                at = dt.datetime.combine(month, dt.time(10)) + dt.timedelta(days=n % 25, minutes=n)
                calls.append(Call(at, line_direction, extension, phone, "ANSWERED", 5, 90 + n))
                if n % 3 == 0:  # a missed one too
                    at += dt.timedelta(days=2)
                    calls.append(Call(at, line_direction, extension, phone, "NO ANSWER", 20, 0))
    return sorted(calls, key=lambda call: call.started_at)


def write_regulars(exports: Path) -> tuple[str, str]:
    """pbx/ files of the regular calls before the new month, and of the new month."""
    new_month = dt.datetime.combine(NEW_MONTH, dt.time())
    names = ("pbx/Master-regulars.csv", f"pbx/Master-regulars-{NEW_MONTH:%Y-%m}.csv")
    before, during = [], []
    for sequence, call in enumerate(regular_calls(), start=9_000_000):
        line = asterisk_line(call_fields(call, sequence, sequence % 4))
        (during if call.started_at >= new_month else before).append(line)
    for name, lines in zip(names, (before, during), strict=True):
        (exports / name).write_text("".join(lines), encoding="utf-8")
    assert before and during
    return names


def test_a_new_month_of_recurring_numbers_recomputes_from_that_month(tmp_path, monkeypatch):
    config = copy_demo_config(tmp_path)
    # dbt's output of each build, with what it parsed; its parse state of its own (others'
    # runs leave theirs).
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt-target"))
    monkeypatch.setenv("DBT_LOG_LEVEL", "debug")
    outputs: list[list[str]] = []
    run_dbt = warehouse.run_dbt

    def recorded(*args, **kwargs) -> list[str]:
        outputs.append(run_dbt(*args, **kwargs))
        return outputs[-1]

    monkeypatch.setattr(warehouse, "run_dbt", recorded)
    exports = tmp_path / "exports"
    write_demo_exports(exports, tmp_path / "expected")
    history_calls, month_calls = split_calls(exports / "pbx/Master.csv", f"{NEW_MONTH}")
    (exports / "pbx/Master-2026-1.csv").write_bytes(history_calls)
    (exports / "pbx/Master-2026-2.csv").write_bytes(month_calls)
    regulars, regulars_new = write_regulars(exports)
    history = [*FIRST_DELIVERY, *SECOND_DELIVERY, "pbx/Master-2026-1.csv", regulars]
    deliver(exports, config.inbox_dir, history)
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (cutoff,) = con.execute("select cutoff_at from marts.data_cutoff").fetchone()
        # The regulars' deals and episodes start in the first month.
        (first_cohort,) = con.execute(
            "select min(cohort_month) from intermediate.int_call_leads_sessionized "
            "where entity_id like 'call:%'"
        ).fetchone()
    assert first_cohort == REGULAR_MONTHS[0]

    deliver(exports, config.inbox_dir, ["pbx/Master-2026-2.csv", regulars_new])
    ingest_inbox(config, settle_seconds=0)
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full, plan.describe()
    # The first new call is at the new month's first local instant or later (in Moscow,
    # 21:00 UTC the day before at the earliest): its cohort month is the new month.
    assert any(funnel.calls is None for funnel in config.funnels)  # key accounts
    for funnel in config.funnels:
        # The entities from the local month of the first new call; the monthly mart also
        # from the maturity window: the previous cutoff less the window and a day, a month
        # more.
        matured = (cutoff - dt.timedelta(days=funnel.window_days + 1)).date().replace(day=1)
        matured = (matured - dt.timedelta(days=1)).replace(day=1)
        assert matured < NEW_MONTH
        assert plan.marts_rebuild_from[funnel.id] == matured, plan.describe()
        if funnel.calls is None:
            # No call reaches a funnel without calls: its entities from the month after
            # the previous cutoff's only (the forecast's new month_start month), no links.
            cutoff_month = (cutoff - dt.timedelta(days=1)).date().replace(day=1)
            after_cutoff = (cutoff_month + dt.timedelta(days=31)).replace(day=1)
            assert plan.rebuild_from[funnel.id] == after_cutoff, plan.describe()
            assert plan.links_rebuild_from[funnel.id] == NOTHING_TO_RECOMPUTE, plan.describe()
            continue
        assert plan.rebuild_from[funnel.id] == NEW_MONTH, plan.describe()
        # Links and episodes by UTC call month, from a day before the first new call: the
        # month before.
        month_before = (NEW_MONTH - dt.timedelta(days=1)).replace(day=1)
        assert plan.links_rebuild_from[funnel.id] == month_before, plan.describe()
    build_warehouse(config)
    # The boundaries come as environment variables read only while dbt executes, so dbt
    # parses no file again for new boundaries; the first build had no parse state to
    # start from.
    history_build, month_build = outputs
    assert any("Unable to do partial parsing" in line for line in history_build)
    assert not any("Unable to do partial parsing" in line for line in month_build)
    assert any("Partial parsing enabled: 0 files deleted" in line for line in month_build)
    assert not [line for line in month_build if "Partial parsing: updated file" in line]
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (joined,) = con.execute(
            "select count(*) from intermediate.int_call_leads_sessionized "
            "where call_month = ? and cohort_month = ?",
            [NEW_MONTH, REGULAR_MONTHS[0]],
        ).fetchone()
    assert joined >= REGULARS  # the new month's calls of numbers with no deal
    assert_equals_full_rebuild(config, tmp_path, "recurring")


def left_out_and_run(target: Path) -> tuple[set[str], set[str], set[str]]:
    """The last build's models tagged CRM_AND_CONFIG_TAG, the models and data tests whose
    parents that tag does not all cover (what a run leaving the tag out still runs), and
    what dbt ran (run_results.json): unique ids."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    nodes = manifest["nodes"].values()
    models = [node for node in nodes if node["resource_type"] == "model"]
    tagged = {node["unique_id"] for node in models if CRM_AND_CONFIG_TAG in node["tags"]}
    expected = {
        node["unique_id"]
        for node in nodes
        if (node["resource_type"] == "model" and node["unique_id"] not in tagged)
        or (node["resource_type"] == "test" and not set(node["depends_on"]["nodes"]) <= tagged)
    }
    ran = {result["unique_id"] for result in build_results(target)}
    return tagged, expected, {node for node in ran if node.startswith(("model.", "test."))}


# Tables of CRM data alone with a grain test: a build with a new CRM file checks each
# again; one without leaves them out of dbt's run with their tests.
CRM_GRAIN_TESTED = (
    "stg_landing__crm_deals",
    "int_stage_events_merged",
    "int_deals_joined_to_funnels",
    "unmapped_stages",
    "stg_landing__crm_stage_events",
    "stg_landing__crm_deal_snapshots",
    "int_stage_entries_inferred",
)


def build_results(target: Path) -> list[dict]:
    return json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]


def grain_test_sql(target: Path, model: str) -> str:
    """The last build's grain test of `model`, as compiled (from run_results.json)."""
    prefix = f"test.voronka.unique_combination_{model}_"
    results = build_results(target)
    (compiled,) = [r["compiled_code"] for r in results if r["unique_id"].startswith(prefix)]
    return compiled


def crm_grain_checks(target: Path) -> dict[str, bool]:
    """Per table of CRM data alone: whether the last build ran its grain test over every
    row (no `where`)."""
    return {name: "where" not in grain_test_sql(target, name) for name in CRM_GRAIN_TESTED}


def periods_grain_check_with_two_copies(
    config, plan: RebuildPlan, target: Path, folder: Path
) -> list[tuple]:
    """What the last build's grain test of int_forecast_deal_periods (its compiled SQL)
    reports on a copy of the warehouse where two rows were written twice: a `cutoff` row,
    which every build writes, and a kept `month_start` row, from before the month the
    build's rewrite starts at (the month before the entity boundary)."""
    check = grain_test_sql(target, "int_forecast_deal_periods")
    folder.mkdir()
    copy = folder / config.warehouse_path.name  # the same database name as the test's SQL
    shutil.copy(config.warehouse_path, copy)
    with duckdb.connect(str(copy)) as con:
        table = "intermediate.int_forecast_deal_periods"
        for funnel_id, boundary in plan.rebuild_from.items():
            rewritten_from = (boundary - dt.timedelta(days=1)).replace(day=1)
            con.execute(
                f"insert into {table} (select * from {table} where funnel_id = $1 "
                "and moment_kind = 'month_start' and month < $2 limit 1)",
                [funnel_id, rewritten_from],
            )
        kept = con.execute(f"select count(*) - count(distinct (funnel_id, moment_kind, month, "
                           f"entity_id)) from {table}").fetchone()[0]  # fmt: skip
        assert kept == len(plan.rebuild_from)  # every funnel has kept rows to copy
        con.execute(
            f"insert into {table} (select * from {table} where moment_kind = 'cutoff' limit 1)"
        )
        return con.execute(check).fetchall()


def history_to_june_built(tmp_path: Path, timezone: str = DEMO_ZONE):
    """The demo config (its zone and its sources' `timezone`) and exports, July 2026's
    calls in a log of their own; the history (calls to June 2026, the CRM export of 30
    June) ingested and built. The exports' times are read in `timezone`."""
    config = copy_demo_config(tmp_path, timezone)
    exports = tmp_path / "exports"
    write_demo_exports(exports, tmp_path / "expected")
    master = exports / "pbx/Master.csv"
    (exports / "pbx/Master-2026-1.csv").write_bytes(split_calls(master, SPLIT_AT)[0])
    (exports / "pbx/Master-2026-07.csv").write_bytes(split_calls(master, "2026-08-01", SPLIT_AT)[0])
    deliver(exports, config.inbox_dir, [*FIRST_DELIVERY, "pbx/Master-2026-1.csv"])
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    return config, exports


def ingest_julys_calls(config, exports: Path) -> None:
    """July's call log delivered alone, and ingested."""
    deliver(exports, config.inbox_dir, ["pbx/Master-2026-07.csv"])
    ingest_inbox(config, settle_seconds=0)


def test_a_month_of_calls_alone_recomputes_maturity_in_the_monthly_mart_only(tmp_path, monkeypatch):
    """The history (calls to June 2026, the CRM export of 30 June) is built, then July's
    calls arrive alone: the cutoff moves a month, so older cohorts mature
    (funnel_stage_monthly's is_mature and share_open), but no entity of those cohorts
    changes. The entities are recomputed from the new calls' month on, the monthly mart
    from the maturity window, the tables built from CRM data alone are kept, and the
    result equals a full rebuild."""
    target = tmp_path / "dbt-target"  # this test's own dbt artifacts: the compiled SQL
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    config, exports = history_to_june_built(tmp_path)
    ingest_julys_calls(config, exports)
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full, plan.describe()
    # No CRM file: the tables built from CRM data alone are kept as built.
    assert plan.crm_unchanged and "CRM tables as built" in plan.describe(), plan.describe()
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (cutoff,) = con.execute("select cutoff_at from marts.data_cutoff").fetchone()
    for funnel in config.funnels:
        matured = (cutoff - dt.timedelta(days=funnel.window_days + 1)).date().replace(day=1)
        matured = (matured - dt.timedelta(days=1)).replace(day=1)
        assert plan.marts_rebuild_from[funnel.id] == matured, plan.describe()
    # Some funnel's entities from a later month than its monthly mart: the months between
    # are the mart's alone, and only the maturity flags move there.
    assert any(plan.marts_rebuild_from[f] < plan.rebuild_from[f] for f in plan.rebuild_from), (
        plan.describe()
    )
    build_warehouse(config)
    # The models of CRM data and config alone, and the data tests on them alone, are left
    # out of dbt's run: they hold what the history's build wrote and checked. Everything
    # else runs, a test with one parent that ran among them.
    tagged, expected, ran = left_out_and_run(target)
    assert {f"model.voronka.{name}" for name in CRM_GRAIN_TESTED} <= tagged
    assert ran == expected and not ran & tagged
    # The forecast periods' grain test checks the rows this build wrote, not the kept ones.
    reported = periods_grain_check_with_two_copies(config, plan, target, tmp_path / "check")
    assert [kind for _, kind, *_ in reported] == ["cutoff"], reported
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        (after,) = con.execute("select cutoff_at from marts.data_cutoff").fetchone()
    assert after - cutoff > dt.timedelta(days=20)
    assert_equals_full_rebuild(config, tmp_path, "calls-alone")


@pytest.mark.parametrize("timezone", [DEMO_ZONE, "America/New_York"])
def test_a_rotated_log_repeating_built_calls_ranks_their_copies_again(tmp_path, timezone):
    """The history (calls to June 2026) is built; then July's log arrives rotated: it
    repeats May's calls, which the history already holds. Those repeats are no new calls,
    but May now holds two copies of each: the per-call models recompute from May's first
    call (its UTC month, less the callback window), so the dedupe keeps one copy of each,
    and the result equals a full rebuild. A boundary from the new calls alone left May's
    copies unranked, and stg_landing__calls passed both through."""
    config, exports = history_to_june_built(tmp_path, timezone)
    mays = split_calls(exports / "pbx/Master.csv", "2026-06-01", "2026-05-01")[0]
    rotated = exports / "pbx/Master-2026-07-rotated.csv"
    rotated.write_bytes(mays + (exports / "pbx/Master-2026-07.csv").read_bytes())
    deliver(exports, config.inbox_dir, ["pbx/Master-2026-07-rotated.csv"])
    ingest_inbox(config, settle_seconds=0)
    # The repeated calls, counted from the file: their ids and first start in UTC.
    records = list(csv.reader(text_io.StringIO(mays.decode("utf-8"))))
    repeated_ids = {fields[16] for fields in records}
    zone = ZoneInfo(config.timezone)
    first_utc = min(
        dt.datetime.fromisoformat(fields[9]).replace(tzinfo=zone).astimezone(dt.UTC)
        for fields in records
    )
    assert len(repeated_ids) > 500
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full, plan.describe()
    # From the month of the first repeated call less the callback window and a day (a
    # new call may call back a missed one before it).
    earliest = first_utc - dt.timedelta(hours=config.calls.callback_hours, days=1)
    assert plan.calls_rebuild_from == earliest.date().replace(day=1), plan.describe()
    build_warehouse(config)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        rows, calls = con.execute(
            "select count(*), count(distinct call_id) from staging.stg_landing__calls "
            "where call_id in ?",
            [sorted(repeated_ids)],
        ).fetchone()
    assert (rows, calls) == (len(repeated_ids), len(repeated_ids))
    assert_equals_full_rebuild(config, tmp_path, "rotated-log")


def test_an_incremental_build_drops_the_forecast_months_no_longer_read(tmp_path, monkeypatch):
    """The forecast's deal periods keep the `month_start` rows of months before the entity
    boundary, and drop the months the forecast no longer reads once the cutoff moves
    (macros/forecast_periods.sql). With 2 history months and 1 backtest month (the demo's
    funnels plan over 3 months: 4 months looked back), the cutoff's move from June to July
    drops February's rows; the result equals a full rebuild."""
    short = {"forecast_history_months": 2, "forecast_backtest_months": 1}
    config_vars = warehouse.dbt_vars
    monkeypatch.setattr(warehouse, "dbt_vars", lambda config: {**config_vars(config), **short})
    config, exports = history_to_june_built(tmp_path)
    first_months = forecast_start_months(config.warehouse_path)
    ingest_julys_calls(config, exports)
    assert not plan_rebuild(config, config.warehouse_path).full
    build_warehouse(config)
    # The forecast moved a month: each funnel's oldest month read is a month later.
    later = forecast_start_months(config.warehouse_path)
    assert later.keys() == first_months.keys() and len(later) == len(config.funnels)
    for funnel_id, month in first_months.items():
        assert later[funnel_id] == (month + dt.timedelta(days=31)).replace(day=1)
    assert_equals_full_rebuild(config, tmp_path, "forecast-months")


def forecast_start_months(warehouse: Path) -> dict[str, dt.date]:
    """Each funnel's first month of `month_start` forecast periods."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select funnel_id, min(month) from intermediate.int_forecast_deal_periods "
            "where moment_kind = 'month_start' group by funnel_id"
        ).fetchall()
    return dict(rows)
