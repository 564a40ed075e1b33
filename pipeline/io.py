"""The one place that writes landing parquet. Layout under the landing folder:

    <landing>/<table>/part-<file_id>.parquet   rows that one input file contributed
    <landing>/<table>/part-<file_id>-<n>.parquet   … batch n of a file read in batches
    <landing>/<table>/_schema.parquet          zero rows: the table exists even when empty
    <landing>/files/ledger.parquet             the file ledger (rewritten whole, atomically)
    <landing>/config_<name>/config.parquet     tables generated from voronka.yaml

It is also the one place that lists and reads inbox files (ingest gets bytes, never paths).

dbt reads each table as `<landing>/<table>/*.parquet`. Every write goes to a temporary
file first and is renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import polars as pl

from pipeline.schemas import LANDING_TABLES, conform, empty

SCHEMA_FILE = "_schema.parquet"
LEDGER_FILE = "ledger.parquet"


def table_dir(landing: Path, table: str) -> Path:
    return landing / table


def part_path(landing: Path, table: str, file_id: str) -> Path:
    return table_dir(landing, table) / f"part-{file_id}.parquet"


def file_parts(landing: Path, table: str, file_id: str) -> list[Path]:
    """Every part one input file contributed to a table (whole-file or batch parts)."""
    folder = table_dir(landing, table)
    whole = part_path(landing, table, file_id)
    batches = sorted(folder.glob(f"part-{file_id}-*.parquet")) if folder.is_dir() else []
    return ([whole] if whole.exists() else []) + batches


def remove_file_parts(landing: Path, table: str, file_id: str) -> None:
    for path in file_parts(landing, table, file_id):
        path.unlink(missing_ok=True)


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


# --- Inbox side: listing, reading and fingerprinting export files -------------------

PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


def list_inbox(inbox: Path, pattern: str) -> list[Path]:
    """Files under the inbox matching a source's glob, in sorted order (hidden files skipped)."""
    if not inbox.is_dir():
        return []
    return sorted(
        path
        for path in inbox.glob(pattern)
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(inbox).parts)
    )


def looks_partial(path: Path) -> bool:
    """A name that says the file is still being written (browser/rsync/scp temp names)."""
    return path.name.lower().endswith(PARTIAL_SUFFIXES)


def file_signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def file_mtime(path: Path) -> float:
    return path.stat().st_mtime


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def content_id(data: bytes) -> str:
    """The file_id: sha256 of the bytes, so a renamed copy is recognised."""
    return hashlib.sha256(data).hexdigest()


def relative_name(inbox: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(inbox.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# --- Landing side: one file's parts and the ledger -----------------------------------


def write_file_parts(landing: Path, file_id: str, tables: dict[str, pl.DataFrame]) -> None:
    """Write the rows one input file contributes, one part per table, each atomically.

    A table with no rows gets no part (and loses a stale one from an earlier attempt), so
    re-ingesting the same bytes is idempotent.
    """
    for table, frame in tables.items():
        if table == "files":
            raise ValueError("the ledger is written by record_ledger_row")
        path = part_path(landing, table, file_id)
        for stale in file_parts(landing, table, file_id):
            if stale != path:
                stale.unlink()
        if frame.height:
            write_parquet_atomic(conform(frame, table), path)
        else:
            path.unlink(missing_ok=True)


def record_ledger_row(landing: Path, row: pl.DataFrame) -> pl.DataFrame:
    """Add ledger rows, replacing earlier rows of the same (file_id, path); returns the ledger."""
    row = conform(row, "files")
    ledger = read_ledger(landing)
    keys = row.select("file_id", "path")
    ledger = ledger.join(keys, on=["file_id", "path"], how="anti", nulls_equal=True)
    ledger = pl.concat([ledger, row], how="vertical")
    write_parquet_atomic(ledger, ledger_path(landing))
    return ledger


def read_part(landing: Path, table: str, file_id: str) -> pl.DataFrame:
    parts = file_parts(landing, table, file_id)
    return pl.concat([pl.read_parquet(p) for p in parts]) if parts else empty(table)


def file_size(path: Path) -> int:
    return path.stat().st_size
