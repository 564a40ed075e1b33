"""The one place that writes landing parquet. Layout under the landing folder:

    <landing>/<table>/part-<file_id>.parquet   rows that one input file contributed
    <landing>/<table>/_schema.parquet          zero rows: the table exists even when empty
    <landing>/files/ledger.parquet             the file ledger (rewritten whole, atomically)
    <landing>/config_<name>/config.parquet     tables generated from voronka.yaml

dbt reads each table as `<landing>/<table>/*.parquet`. Every write goes to a temporary
file first and is renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from pipeline.schemas import LANDING_TABLES, empty

SCHEMA_FILE = "_schema.parquet"
LEDGER_FILE = "ledger.parquet"


def table_dir(landing: Path, table: str) -> Path:
    return landing / table


def part_path(landing: Path, table: str, file_id: str) -> Path:
    return table_dir(landing, table) / f"part-{file_id}.parquet"


def ledger_path(landing: Path) -> Path:
    return table_dir(landing, "files") / LEDGER_FILE


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        frame.write_parquet(temp_name, statistics=True)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def ensure_landing(landing: Path) -> None:
    """Create every landing table (with a zero-row schema file) so dbt always finds it."""
    for table in LANDING_TABLES:
        schema_file = table_dir(landing, table) / SCHEMA_FILE
        if not schema_file.exists():
            write_parquet_atomic(empty(table), schema_file)


def read_ledger(landing: Path) -> pl.DataFrame:
    path = ledger_path(landing)
    return pl.read_parquet(path) if path.exists() else empty("files")
