"""The one place that knows the landing layout and writes landing parquet:

  calls, crm_stage_events, crm_deals (schemas.MONTH_PARTITIONS), by month:
    <landing>/<table>/month=YYYY-MM/part-<file_id>.parquet       a file's rows of the month
    <landing>/<table>/month=YYYY-MM/part-<file_id>-<n>.parquet   … batch n of it
    <landing>/<table>/month=__HIVE_DEFAULT_PARTITION__/part-…    rows whose time is NULL
    <landing>/<table>/month=__HIVE_DEFAULT_PARTITION__/_schema.parquet   zero rows
  the other tables, flat:
    <landing>/<table>/part-<file_id>[-<n>].parquet
    <landing>/<table>/_schema.parquet                            zero rows
    <landing>/files/ledger.parquet           the file ledger (rewritten whole, atomically)
    <landing>/config_<name>/config.parquet   tables generated from voronka.yaml

A part holds the rows one input file contributed (`-<n>`: batch n of a file read in
batches). Partitioned tables are split by the UTC month of their time column, Hive style:
DuckDB and Spark read `month` as a partition column, and a filter on it skips the other
months' files. A file spanning three months has a part in each of three month folders.
The zero-row `_schema.parquet` makes an empty table exist with its columns (in the NULL
month folder of a partitioned table, so that dbt's glob `<table>/*/*.parquet` always
matches a file).

Parts of a file are found, read and removed only through `file_parts`, `read_part`,
`remove_file_parts`; whole tables are read through `read_table`/`scan_table`. A landing
folder in the old flat layout (every table flat) is migrated once by `ensure_landing`.

It is also the one place that lists and reads inbox files (ingest gets bytes, never paths).
Every write goes to a temporary file first and is renamed into place, so a crash never
leaves half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipeline.schemas import LANDING_TABLES, MONTH_PARTITIONS, conform, empty

LOG = logging.getLogger(__name__)
SCHEMA_FILE = "_schema.parquet"
LEDGER_FILE = "ledger.parquet"
PARTITION_KEY = "month"
# Hive's name for a NULL partition value; DuckDB and Spark read it back as NULL.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def table_dir(landing: Path, table: str) -> Path:
    return landing / table


def is_partitioned(table: str) -> bool:
    return table in MONTH_PARTITIONS


def month_dir(landing: Path, table: str, month: str | None) -> Path:
    """The folder of one month (`YYYY-MM`; None: the NULL partition) of a partitioned table."""
    return table_dir(landing, table) / f"{PARTITION_KEY}={month or NULL_PARTITION}"


def schema_path(landing: Path, table: str) -> Path:
    folder = month_dir(landing, table, None) if is_partitioned(table) else table_dir(landing, table)
    return folder / SCHEMA_FILE


def part_name(file_id: str, batch: int | None = None) -> str:
    return f"part-{file_id}.parquet" if batch is None else f"part-{file_id}-{batch:05d}.parquet"


def part_dirs(landing: Path, table: str) -> list[Path]:
    """The folders that hold a table's parts: its month folders (partitioned tables) and the
    table folder itself (flat tables; parts of the old flat layout before migration)."""
    folder = table_dir(landing, table)
    if not folder.is_dir():
        return []
    months = (
        sorted(p for p in folder.glob(f"{PARTITION_KEY}=*") if p.is_dir())
        if is_partitioned(table)
        else []
    )
    return [folder, *months]


def split_by_month(frame: pl.DataFrame, table: str) -> dict[str | None, pl.DataFrame]:
    """A partitioned table's rows by the UTC month (`YYYY-MM`) of its time column (None:
    rows whose time is NULL), each month's rows in their order."""
    if frame.height == 0:
        return {}
    time = pl.col(MONTH_PARTITIONS[table]).dt.convert_time_zone("UTC")
    keyed = frame.with_columns((time.dt.year() * 100 + time.dt.month()).alias(PARTITION_KEY))
    groups = keyed.partition_by(PARTITION_KEY, as_dict=True, maintain_order=True, include_key=False)
    return {_month_name(key): rows for (key,), rows in groups.items()}


def _month_name(key: int | None) -> str | None:
    return None if key is None else f"{key // 100:04d}-{key % 100:02d}"


def file_parts(landing: Path, table: str, file_id: str) -> list[Path]:
    """Every part one input file contributed to a table: whole-file or batch parts, in every
    month folder, and flat parts of the old layout."""
    parts: list[Path] = []
    for folder in part_dirs(landing, table):
        whole = folder / part_name(file_id)
        if whole.exists():
            parts.append(whole)
        parts.extend(sorted(folder.glob(f"part-{file_id}-*.parquet")))
    return parts


def table_parts(landing: Path, table: str) -> list[Path]:
    """Every part file of a table (every input file's, in both layouts), without the schema."""
    folders = part_dirs(landing, table)
    return [part for folder in folders for part in sorted(folder.glob("part-*.parquet"))]


def remove_file_parts(landing: Path, table: str, file_id: str) -> None:
    _remove(file_parts(landing, table, file_id))


def _remove(paths: list[Path]) -> None:
    """Unlink parts; a month folder left empty goes too."""
    for path in paths:
        path.unlink(missing_ok=True)
        if path.parent.name.startswith(f"{PARTITION_KEY}="):
            with contextlib.suppress(OSError):  # not empty: other parts, or the schema file
                path.parent.rmdir()


def ledger_path(landing: Path) -> Path:
    return table_dir(landing, "files") / LEDGER_FILE


# zstd level 1: 35–50 % less CPU than polars' default level (3) on the landing tables, the
# files within ±10 % of its size (a 100 MB call-log batch: 0.28 s and 20.4 MB against 0.43 s
# and 20.8 MB).
PARQUET_ZSTD_LEVEL = 1


@contextlib.contextmanager
def replaced_whole(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside `path` to write (hidden, named `.<name>.<random><suffix>`);
    renamed over `path` when the block ends, removed if it raises: a reader sees the old
    file or the new one, never half of one. The file gets the permissions any new file of
    the process gets (0666 less its umask), as if written in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _new_file_beside(path, suffix)
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _new_file_beside(path: Path, suffix: str) -> Path:
    """Create an empty file of a name no other file has, in `path`'s folder. Not mkstemp:
    its files are 0600 whatever the umask."""
    while True:
        temp = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temp


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> None:
    with replaced_whole(path) as temp:
        frame.write_parquet(
            temp, statistics=True, compression="zstd", compression_level=PARQUET_ZSTD_LEVEL
        )


def write_text_atomic(path: Path, text: str) -> None:
    with replaced_whole(path) as temp:
        temp.write_text(text, encoding="utf-8")


def ensure_landing(landing: Path) -> None:
    """Create every landing table (with a zero-row schema file) so dbt always finds it, and
    move parts of the old flat layout into their month folders (once; idempotent)."""
    for table in LANDING_TABLES:
        path = schema_path(landing, table)
        if not path.exists() or pl.read_parquet_schema(path) != LANDING_TABLES[table]:
            write_parquet_atomic(empty(table), path)
        if is_partitioned(table):
            migrate_flat_parts(landing, table)
    ledger = ledger_path(landing)
    if ledger.exists() and pl.read_parquet_schema(ledger) != LANDING_TABLES["files"]:
        write_parquet_atomic(read_ledger(landing), ledger)  # a column added since: null


def migrate_flat_parts(landing: Path, table: str) -> int:
    """Split the flat parts `<table>/part-*.parquet` of a partitioned table into its month
    folders (same part names) and remove them, with the flat `_schema.parquet`; returns the
    number of parts moved. Each month part is written before its flat part is removed, so
    a crash leaves at worst a copy that the next call rewrites (staging keeps one copy)."""
    folder = table_dir(landing, table)
    if not folder.is_dir():
        return 0
    flat = sorted(folder.glob("part-*.parquet"))
    for path in flat:
        _write_split(landing, table, path.name, conform(_read(path), table))
        path.unlink()
    (folder / SCHEMA_FILE).unlink(missing_ok=True)
    return len(flat)


def read_ledger(landing: Path) -> pl.DataFrame:
    """The file ledger, in the current schema (a ledger written before a column was added
    has it null)."""
    path = ledger_path(landing)
    return conform(pl.read_parquet(path), "files") if path.exists() else empty("files")


# --- Inbox side: listing, reading and fingerprinting export files -------------------

PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


def list_inbox(inbox: Path, pattern: str) -> list[Path]:
    """Files under the inbox matching a source's glob, in sorted order (hidden files
    skipped). A symbolic link whose file lies outside the inbox is skipped with a warning:
    an export is read from the inbox only (a link to /etc/passwd would print its first line
    as the file's columns)."""
    if not inbox.is_dir():
        return []
    root = inbox.resolve()
    found = []
    for path in inbox.glob(pattern):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(inbox).parts):
            continue
        if not path.resolve().is_relative_to(root):
            LOG.warning("skipped %s: a link to a file outside the inbox", path)
            continue
        found.append(path)
    return sorted(found)


def looks_partial(path: Path) -> bool:
    """A name that says the file is still being written (browser/rsync/scp temp names)."""
    return path.name.lower().endswith(PARTIAL_SUFFIXES)


def file_signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def file_version(path: str | os.PathLike) -> tuple[int, int, int] | None:
    """What tells one version of a file from the next (inode, size, mtime): a cache key for
    what is read from it; None when it cannot be read, for the reader to say why."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


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


def _write_split(root: Path, table: str, name: str, frame: pl.DataFrame) -> list[Path]:
    """Write conformed rows as part `name`: in the table folder, or split into month folders."""
    if not is_partitioned(table):
        targets = {table_dir(root, table) / name: frame} if frame.height else {}
    else:
        targets = {
            month_dir(root, table, month) / name: rows
            for month, rows in split_by_month(frame, table).items()
        }
    for path, rows in targets.items():
        write_parquet_atomic(rows, path)
    return list(targets)


def write_part(
    root: Path, table: str, file_id: str, frame: pl.DataFrame, batch: int | None = None
) -> list[Path]:
    """Write one part of a file (whole, or batch `batch`) under `root` — the landing folder
    or a staging folder laid out like it — split by month; returns the paths written.
    Replaces nothing else: see write_file_parts."""
    if table == "files":
        raise ValueError("the ledger is written by record_ledger_row")
    return _write_split(root, table, part_name(file_id, batch), conform(frame, table))


def write_file_parts(landing: Path, file_id: str, tables: dict[str, pl.DataFrame]) -> None:
    """Write the rows one input file contributes, one part per table (and month), each
    atomically.

    The file's other parts of those tables (other months, batch parts, flat parts) are
    removed after the new ones are written, and a table with no rows gets no part, so
    re-ingesting the same bytes is idempotent.
    """
    for table, frame in tables.items():
        written = set(write_part(landing, table, file_id, frame))
        _remove([p for p in file_parts(landing, table, file_id) if p not in written])


def set_file_column(root: Path, table: str, file_id: str, column: str, value: object) -> None:
    """Give every row of one file's parts of `table` under `root` (landing or a staging
    folder) the same `value` in `column`: a value known only once the whole file is read
    (a streamed CRM file's snapshot_at). A part of a partitioned table moves to the month
    folder of its new value; one part is in memory at a time."""
    for part in file_parts(root, table, file_id):
        rows = conform(_read(part), table)
        rows = rows.with_columns(pl.lit(value, dtype=rows.schema[column]).alias(column))
        written = _write_split(root, table, part.name, rows)
        _remove([part] if part not in written else [])


def publish_file_parts(landing: Path, staging: Path, file_id: str, tables: set[str]) -> None:
    """Move a file's parts from a staging folder (laid out like landing) into landing,
    replacing every part it had before; landing tables not in `tables` lose the file's
    parts. A staged part outside a month folder of a partitioned table is split by month."""
    for table in LANDING_TABLES:
        if table == "files":
            continue
        published: set[Path] = set()
        if table in tables:
            staged = table_parts(staging, table)
            for part in staged:
                if is_partitioned(table) and part.parent == table_dir(staging, table):
                    rows = conform(_read(part), table)
                    published.update(_write_split(landing, table, part.name, rows))
                    part.unlink()
                    continue
                target = landing / part.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                part.replace(target)
                published.add(target)
        _remove([p for p in file_parts(landing, table, file_id) if p not in published])


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
    """The rows one input file contributed to a table (grouped by month folder)."""
    parts = file_parts(landing, table, file_id)
    return pl.concat([_read(p) for p in parts]) if parts else empty(table)


def read_table(landing: Path, table: str) -> pl.DataFrame:
    """A whole landing table, every part in either layout (the schema's columns only)."""
    parts = table_parts(landing, table)
    return pl.concat([_read(p) for p in parts]) if parts else empty(table)


def scan_table(landing: Path, table: str) -> pl.LazyFrame:
    """read_table, lazily (for filters that need only part of a large table)."""
    parts = table_parts(landing, table)
    return pl.scan_parquet(parts, hive_partitioning=False) if parts else empty(table).lazy()


def _read(part: Path) -> pl.DataFrame:
    """One part, with the columns it holds (the `month` of its folder is not a column)."""
    return pl.read_parquet(part, hive_partitioning=False)


def file_size(path: Path) -> int:
    return path.stat().st_size
