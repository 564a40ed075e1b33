"""What a build was made from (state.build_state: the fingerprint of the models and config,
the file ledger's digest, the loaded files), and whether the published warehouse is up to
date: the rebuild plan (pipeline/incremental.py) starts from it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import duckdb
import polars as pl

from pipeline import io
from pipeline.config import Config
from pipeline.incremental_changes import quoted
from pipeline.paths import DBT_PROJECT_DIR

STATE_TABLE = "state.build_state"
PREVIOUS_TABLES = (
    STATE_TABLE,
    "intermediate.int_entities_described",
    "intermediate.int_stage_entries_unioned",
    "intermediate.int_call_leads_sessionized",
    "marts.data_cutoff",
)
# What decides a build besides landing data: the models and macros, the data tests that
# check them, the project file, and the tables generated from voronka.yaml.
FINGERPRINT_SOURCES = ("models", "macros", "tests", "dbt_project.yml")
# The engine that computes the tables: another version may compute them differently.
ENGINE_VERSIONS = (duckdb.__version__, version("dbt-core"), version("dbt-duckdb"))


def build_fingerprint(config: Config) -> str:
    """sha256 over the dbt project's models, macros, data tests and settings, the config
    tables, the vars the models read and the engine (DuckDB's, dbt's and dbt-duckdb's
    versions): equal fingerprints, equal functions from landing to marts, checked by the
    same tests."""
    digest = hashlib.sha256()
    digest.update("|".join(ENGINE_VERSIONS).encode())
    for name in FINGERPRINT_SOURCES:
        root = DBT_PROJECT_DIR / name
        paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in paths:
            digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    for path in sorted(config.landing_dir.glob("config_*/*.parquet")):
        digest.update(path.relative_to(config.landing_dir).as_posix().encode())
        digest.update(io.read_bytes(path))
    digest.update(f"{config.landing_dir.as_posix()}|{config.timezone}".encode())
    return digest.hexdigest()


def ledger_digest(ledger: pl.DataFrame) -> str:
    """sha256 of the file ledger's rows (io.read_ledger; empty: none yet). A build that read
    other rows shows them in data_files and data_quality, though no new file was loaded. A
    file read again to the same end (a failed export left in the inbox) changes only its
    row's received_at, which counts for loaded files alone (their arrival order): the
    digest leaves it out for the others."""
    if ledger.height == 0:
        return ""
    loaded = pl.col("status") == "loaded"
    rows = ledger.with_columns(received_at=pl.when(loaded).then(pl.col("received_at")))
    return hashlib.sha256(rows.sort(rows.columns).write_csv().encode()).hexdigest()


def is_up_to_date(config: Config, warehouse: Path) -> bool:
    """True when `warehouse` was built from exactly the files loaded now and the file
    ledger as it is (a duplicate, empty or failed file adds a row that data_files and
    data_quality show), with these models, macros, data tests and config (the same
    fingerprint): a build would write the same tables and pass the same tests again (it
    depends on landing and the fingerprint alone, never on the clock). A file DuckDB cannot
    read is not: the build then meets it as it would have."""
    if not warehouse.exists():
        return False
    with duckdb.connect() as con:
        try:
            con.execute(f"attach '{quoted(warehouse)}' as previous (read_only)")
        except duckdb.Error:
            return False
        state = built_state(con)
    if state is None or state.fingerprints != {build_fingerprint(config)}:
        return False
    ledger = io.read_ledger(config.landing_dir)
    if state.ledgers != {ledger_digest(ledger)}:
        return False
    return state.files == set(loaded_files(ledger)["file_id"].to_list())


def loaded_files(ledger: pl.DataFrame) -> pl.DataFrame:
    """The ledger's rows of the files loaded into landing."""
    return ledger.filter(status="loaded")


@dataclass(frozen=True)
class BuiltState:
    """What the build of a warehouse recorded (state.build_state)."""

    fingerprints: set[str]
    files: set[str]  # the loaded files' ids
    ledgers: set[str]  # the digest of the file ledger it read
    read_with: dict[str, str | None]  # file id → the settings it was read with

    def read_again(self, ledger: pl.DataFrame) -> set[str]:
        """The built files that the ledger says were read again with other settings since."""
        now = dict(loaded_files(ledger).select("file_id", "read_with").iter_rows())
        return {f for f in self.files if f in now and now[f] != self.read_with.get(f)}


def built_state(con: duckdb.DuckDBPyConnection) -> BuiltState | None:
    """What the build of the attached `previous` recorded; None when it has no incremental
    state (or one of a version that recorded no ledger or no settings files were read with)."""
    if not _has_tables(con, PREVIOUS_TABLES):
        return None
    columns = {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'previous' "
            "and schema_name = 'state' and table_name = 'build_state'"
        ).fetchall()
    }
    if not {"ledger_digest", "read_with"} <= columns:
        return None
    rows = con.execute(
        f"select build_fingerprint, file_id, ledger_digest, read_with from previous.{STATE_TABLE}"
    ).fetchall()
    return BuiltState(
        {built_with for built_with, _, _, _ in rows},
        {f for _, f, _, _ in rows if f is not None},
        {ledger for _, _, ledger, _ in rows},
        {f: read_with for _, f, _, read_with in rows if f is not None},
    )


def _has_tables(con: duckdb.DuckDBPyConnection, names: list[str]) -> bool:
    present = {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'previous'"
        ).fetchall()
    }
    return all(name in present for name in names)
