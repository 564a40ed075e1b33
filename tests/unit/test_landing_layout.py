"""Landing parquet partitioned by month (pipeline/io.py): `calls`, `crm_stage_events` and
`crm_deals` land in Hive folders `<table>/month=YYYY-MM/` by the UTC month of their time
column; a file's parts are found, replaced and removed across month folders; a landing
folder in the old flat layout is migrated by ensure_landing; and the dbt sources read
the month folders with `month` as a partition column that prunes files on DuckDB."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from pipeline import io
from pipeline.ingest import ingest_inbox
from pipeline.paths import DBT_PROJECT_DIR
from pipeline.schemas import LANDING_TABLES, MONTH_PARTITIONS, conform, empty
from tests.unit._fixtures_ingest import PBX_SOURCE, assert_invariant, make_config, put
from tests.unit.test_sources_asterisk import cdr

UTC = dt.UTC
SOURCES_YML = DBT_PROJECT_DIR / "models/staging/landing/_landing__sources.yml"
# Moscow local times (the config's zone) → UTC months: the first call is 1 March 02:00 in
# Moscow but 28 February 23:00 UTC, so it belongs to February (partitions are UTC months).
THREE_MONTHS = [
    cdr(start="2025-03-01 02:00:00", answer="2025-03-01 02:00:05", end="2025-03-01 02:01:00"),
    cdr(start="2025-03-15 10:00:00", answer="2025-03-15 10:00:05", end="2025-03-15 10:03:05"),
    cdr(start="2025-03-20 10:00:00", answer="", end="", billsec="0", disposition="NO ANSWER"),
    cdr(start="not a date", answer="", end=""),  # rejected
    cdr(start="2025-04-02 09:00:00", answer="2025-04-02 09:00:05", end="2025-04-02 09:05:00"),
]


def months(landing: Path, table: str) -> list[str]:
    """The month folders of a table that hold parts (not the schema file alone)."""
    return sorted(
        folder.name.removeprefix("month=")
        for folder in io.part_dirs(landing, table)[1:]
        if any(folder.glob("part-*.parquet"))
    )


def ingest_calls(tmp_path: Path, **options) -> tuple:
    config = make_config(tmp_path, PBX_SOURCE)
    put(config, "pbx/Master.csv", "\n".join(THREE_MONTHS) + "\n")
    summary = ingest_inbox(config, settle_seconds=0, **options)
    assert_invariant(config)
    (loaded,) = summary.files
    return config, loaded


def call(call_id: str, started_at: dt.datetime | None) -> dict:
    return {"source": "pbx", "call_id": call_id, "started_at": started_at, "file_id": "f1"}


# --- writing and reading a file's parts ----------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "batched"])
def test_a_calls_file_spanning_three_months_lands_in_three_month_folders(tmp_path, streamed):
    options = {"stream_min_bytes": 0, "memory_budget_mb": 0} if streamed else {}
    config, loaded = ingest_calls(tmp_path, **options)
    landing = config.landing_dir
    assert (loaded.status, loaded.rows_total, loaded.rows_accepted, loaded.rows_rejected) == (
        "loaded", 5, 4, 1,
    )  # fmt: skip
    assert loaded.rows_total == loaded.rows_accepted + loaded.rows_rejected
    assert months(landing, "calls") == ["2025-02", "2025-03", "2025-04"]
    parts = io.file_parts(landing, "calls", loaded.file_id)
    assert {p.parent.name for p in parts} == {"month=2025-02", "month=2025-03", "month=2025-04"}
    suffix = r"-\d{5}" if streamed else ""
    assert all(re.fullmatch(rf"part-{loaded.file_id}{suffix}\.parquet", p.name) for p in parts)
    for part in parts:  # every row sits in the folder of its UTC month
        rows = pl.read_parquet(part)
        assert rows["started_at"].dt.strftime("%Y-%m").unique().to_list() == [
            part.parent.name.removeprefix("month=")
        ]
    calls = io.read_part(landing, "calls", loaded.file_id)
    assert calls.height == loaded.rows_accepted
    assert io.read_table(landing, "calls").height == 4
    # Tables without a time of their own stay flat; the reject is in rejected_rows.
    rejected = io.file_parts(landing, "rejected_rows", loaded.file_id)
    assert [p.parent for p in rejected] == [io.table_dir(landing, "rejected_rows")]
    assert io.read_part(landing, "rejected_rows", loaded.file_id).height == 1
    assert not (landing / ".staging").exists() or not any((landing / ".staging").iterdir())


def test_rewriting_a_file_replaces_its_parts_in_every_month(tmp_path):
    landing = tmp_path / "landing"
    io.ensure_landing(landing)
    feb, mar = dt.datetime(2025, 2, 3, tzinfo=UTC), dt.datetime(2025, 3, 3, tzinfo=UTC)
    io.write_file_parts(landing, "f1", {"calls": pl.DataFrame([call("1", feb), call("2", mar)])})
    assert months(landing, "calls") == ["2025-02", "2025-03"]
    io.write_file_parts(landing, "f1", {"calls": pl.DataFrame([call("2", mar)])})
    assert months(landing, "calls") == ["2025-03"]
    assert not io.month_dir(landing, "calls", "2025-02").exists()  # an emptied month goes
    assert io.read_table(landing, "calls")["call_id"].to_list() == ["2"]
    io.write_file_parts(landing, "f1", {"calls": empty("calls")})
    assert io.file_parts(landing, "calls", "f1") == []
    assert io.schema_path(landing, "calls").exists()  # the table still exists


def test_publishing_staged_parts_replaces_the_files_parts_in_every_month(tmp_path):
    landing, staging = tmp_path / "landing", tmp_path / "landing" / ".staging" / "f1"
    io.ensure_landing(landing)
    feb, mar, apr = (dt.datetime(2025, m, 3, tzinfo=UTC) for m in (2, 3, 4))
    io.write_file_parts(landing, "f1", {"calls": pl.DataFrame([call("1", feb), call("2", mar)])})
    io.write_part(staging, "calls", "f1", pl.DataFrame([call("2", mar), call("3", apr)]), batch=0)
    # A part staged flat (outside a month folder) is split by month when published.
    flat = conform(pl.DataFrame([call("4", apr)]), "calls")
    io.write_parquet_atomic(flat, io.table_dir(staging, "calls") / io.part_name("f1", 1))
    io.publish_file_parts(landing, staging, "f1", {"calls"})
    parts = io.file_parts(landing, "calls", "f1")
    assert sorted((p.parent.name, p.name) for p in parts) == [
        ("month=2025-03", "part-f1-00000.parquet"),
        ("month=2025-04", "part-f1-00000.parquet"),
        ("month=2025-04", "part-f1-00001.parquet"),
    ]
    assert sorted(io.read_table(landing, "calls")["call_id"]) == ["2", "3", "4"]
    assert months(landing, "calls") == ["2025-03", "2025-04"]


def test_removing_a_file_removes_every_month_part_and_leaves_other_files(tmp_path):
    config, loaded = ingest_calls(tmp_path, stream_min_bytes=0, memory_budget_mb=0)
    landing = config.landing_dir
    other = dt.datetime(2025, 3, 9, tzinfo=UTC)
    io.write_file_parts(landing, "other", {"calls": pl.DataFrame([call("x", other)])})
    for table in LANDING_TABLES:
        if table != "files":
            io.remove_file_parts(landing, table, loaded.file_id)
    for table in LANDING_TABLES:
        assert io.file_parts(landing, table, loaded.file_id) == []
    assert io.read_table(landing, "calls")["call_id"].to_list() == ["x"]
    assert months(landing, "calls") == ["2025-03"]


def test_a_null_time_lands_in_the_null_partition_not_lost(tmp_path):
    landing = tmp_path / "landing"
    io.ensure_landing(landing)
    frame = pl.DataFrame([call("1", None), call("2", dt.datetime(2025, 5, 1, tzinfo=UTC))])
    io.write_file_parts(landing, "f1", {"calls": frame})
    null_dir = io.month_dir(landing, "calls", None)
    assert null_dir.name == "month=__HIVE_DEFAULT_PARTITION__"
    assert (null_dir / "part-f1.parquet").exists()
    assert io.read_part(landing, "calls", "f1").height == 2
    with duckdb.connect() as con:
        rows = con.execute(f"select call_id, month from {source_sql(landing, 'calls')}").fetchall()
    assert sorted(rows) == [("1", None), ("2", "2025-05")]


# --- the old flat layout ---------------------------------------------------------------


def flat_landing(landing: Path) -> dict[str, pl.DataFrame]:
    """A landing folder as the flat layout wrote it: parts and `_schema.parquet` in the
    table folder, a whole-file part and batch parts."""
    times = [dt.datetime(2025, m, 10, tzinfo=UTC) for m in (1, 2, 2)]
    frames = {
        "part-a.parquet": pl.DataFrame([call(str(i), t) for i, t in enumerate(times)]),
        "part-b-00000.parquet": pl.DataFrame([call("9", dt.datetime(2025, 3, 1, tzinfo=UTC))]),
        "part-b-00001.parquet": pl.DataFrame([call("8", dt.datetime(2025, 1, 1, tzinfo=UTC))]),
    }
    for table in LANDING_TABLES:
        io.write_parquet_atomic(empty(table), landing / table / io.SCHEMA_FILE)
    for name, frame in frames.items():
        io.write_parquet_atomic(conform(frame, "calls"), landing / "calls" / name)
    io.write_parquet_atomic(
        pl.DataFrame({"file_id": ["a"], "row_number": [4]}).pipe(conform, "rejected_rows"),
        landing / "rejected_rows" / "part-a.parquet",
    )
    return frames


def test_the_old_flat_layout_is_found_before_and_migrated_by_ensure_landing(tmp_path):
    landing = tmp_path / "landing"
    frames = flat_landing(landing)
    before = io.read_table(landing, "calls").sort("call_id")
    assert before.height == 5
    assert [p.name for p in io.file_parts(landing, "calls", "b")] == [
        "part-b-00000.parquet", "part-b-00001.parquet",
    ]  # fmt: skip
    io.ensure_landing(landing)
    calls = io.table_dir(landing, "calls")
    assert sorted(p.name for p in calls.glob("*.parquet")) == []  # nothing flat is left
    assert io.schema_path(landing, "calls").exists()
    assert months(landing, "calls") == ["2025-01", "2025-02", "2025-03"]
    assert io.read_table(landing, "calls").sort("call_id").equals(before)
    assert io.read_part(landing, "calls", "a").height == frames["part-a.parquet"].height
    assert sorted(p.name for p in io.file_parts(landing, "calls", "b")) == [
        "part-b-00000.parquet", "part-b-00001.parquet",
    ]  # fmt: skip
    # Flat tables are left as they were.
    assert (landing / "rejected_rows" / "part-a.parquet").exists()
    assert (landing / "rejected_rows" / io.SCHEMA_FILE).exists()
    snapshot = sorted(p.relative_to(landing) for p in landing.rglob("*.parquet"))
    io.ensure_landing(landing)  # once: a second call changes nothing
    assert sorted(p.relative_to(landing) for p in landing.rglob("*.parquet")) == snapshot
    with duckdb.connect() as con:
        count = con.execute(f"select count(*) from {source_sql(landing, 'calls')}").fetchone()
    assert count == (5,)


def test_a_file_is_removed_from_the_flat_layout_too(tmp_path):
    landing = tmp_path / "landing"
    flat_landing(landing)
    io.remove_file_parts(landing, "calls", "b")
    assert io.read_table(landing, "calls").height == 3


# --- how dbt reads it ------------------------------------------------------------------


def sources() -> dict[str, dict]:
    (source,) = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    return {table["name"]: table for table in source["tables"]}


def meta(table: dict) -> dict:
    return table.get("config", {}).get("meta", {})


def source_sql(landing: Path, table: str) -> str:
    """What the DuckDB view `landing.<table>` reads, which on-run-start creates over the
    landing folder (macros/landing.sql): its month folders where the source's meta says
    `partitioned_by` (tests/e2e/test_demo_pipeline.py checks a build's views read this)."""
    partitioned = meta(sources()[table]).get("partitioned_by")
    files = f"{landing.as_posix()}/{table}/{'*/*.parquet' if partitioned else '*.parquet'}"
    options = ", hive_partitioning = true, hive_types_autocast = false" if partitioned else ""
    return f"read_parquet('{files}'{options})"


def test_the_dbt_sources_partition_the_tables_the_pipeline_partitions():
    partitioned = {
        name: meta(table)["partition_time"]
        for name, table in sources().items()
        if meta(table).get("partitioned_by") == io.PARTITION_KEY
    }
    assert partitioned == MONTH_PARTITIONS


def test_duckdb_reads_the_month_folders_and_prunes_files_on_month(tmp_path):
    config, _ = ingest_calls(tmp_path)
    landing = config.landing_dir
    relation = source_sql(landing, "calls")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        columns = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]
        assert columns == [*LANDING_TABLES["calls"], "month"]
        by_month = con.execute(
            f"select month, count(*) from {relation} group by month order by month"
        ).fetchall()
        assert by_month == [("2025-02", 1), ("2025-03", 2), ("2025-04", 1)]
        plan = con.execute(
            f"explain analyze select count(*) from {relation} where month = '2025-03'"
        ).fetchall()[0][1]
        # the NULL folder (schema file) and three month folders; only March is read
        assert re.search(r"Scanning Files:\s*1/4", plan), plan
        # Empty partitioned tables still have their columns (the schema file).
        described = con.execute(f"describe select * from {source_sql(landing, 'crm_deals')}")
        assert [row[0] for row in described.fetchall()] == [*LANDING_TABLES["crm_deals"], "month"]
        deals = con.execute(f"select count(*) from {source_sql(landing, 'crm_deals')}")
        assert deals.fetchone() == (0,)
