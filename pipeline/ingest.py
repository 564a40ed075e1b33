"""Ingest: inbox files → landing parquet, one file at a time, through the file ledger.

For each source (in config order) and each file matching its glob (sorted): skip files
still being written; fingerprint the bytes (sha256 = file_id); bytes already loaded —
under any name — are a `duplicate`; otherwise extract (pipeline.sources) → normalize
(pipeline.transform) → write the file's parts, then its ledger row. A file already in the
ledger under the same name with a final status is not looked at again, so re-running on an
unchanged inbox adds nothing. The run is three phases (plan_ingest → load_file per file →
finish_ingest) so that Dagster runs each file's load as its own step; ingest_inbox runs
them in one process. Every record lands either in its main table or in
`rejected_rows`: rows_total = rows_accepted + rows_rejected for every loaded file.

A CRM deals file's snapshot_at is the whole file's, from its name or its rows, never
the clock (`transform.snapshots`): chosen once every row is parsed, and stamped on the
parts of a streamed file after its last batch.

Failures are loud but never partial: a file that cannot be read (a missing column, an
unknown encoding), or whose reject ratio is above `quality.max_reject_ratio`, is recorded
as `failed` with nothing written (its ledger row keeps the counts and the first reject;
`voronka check` shows every reject). A failed file is read again on every run, so it stays
failed until a corrected export takes its place under the same name, or it is removed
from the inbox. After all files, IngestError names every inbox file whose latest ledger
row is a failure (`held_files`: the one rule of the CLI and the Dagster check).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shlex
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from zoneinfo import ZoneInfo

import polars as pl

from pipeline import io
from pipeline.config import Config, Source
from pipeline.sources import RawFile, SourceError, asterisk, fastcsv, read_file, registry, streamed
from pipeline.sources.text import sniff_delimiter
from pipeline.transform import snapshot_history
from pipeline.transform.calls import normalize_calls
from pipeline.transform.context import NormalizeContext
from pipeline.transform.deals import SNAPSHOT_TABLES, normalize_deals, with_snapshot
from pipeline.transform.history import STAGE_DATE_PREFIX, normalize_history
from pipeline.transform.phones import mask_phones
from pipeline.transform.rejects import REJECT_SCHEMA
from pipeline.transform.snapshots import (
    FROM_NAME,
    RowTimes,
    Snapshot,
    snapshot_from_name,
    snapshot_of_file,
)
from pipeline.transform.times import TimeFormat
from pipeline.transform.values import bounded_raw, clean_values

# A file whose size or mtime changes within this many seconds is still being written.
SETTLE_SECONDS = 0.5
# Files at least this large (of a preset that can) are read in batches, so ingest's memory
# is set by MEMORY_BUDGET_MB, not by the file. A batch of raw text grows ~10× into frames.
STREAM_MIN_BYTES = 32 * 1024**2
MEMORY_BUDGET_MB = 1024
BATCH_GROWTH = 10
FINAL_STATUSES = ("loaded", "duplicate", "empty")
MAIN_TABLE = {"crm": "crm_deals", "crm_history": "crm_stage_events", "calls": "calls"}


class IngestError(Exception):
    """The run must fail: the message names each file and why. `.summary` has the details."""

    def __init__(self, message: str, summary: IngestSummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class FileResult:
    path: str  # relative to the inbox
    source: str
    preset: str
    status: str  # loaded / duplicate / incomplete / empty / failed
    file_id: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    message: str = ""
    # loaded, not yet published: the staging folder (relative to landing) and its tables
    staged: str | None = field(default=None, repr=False, compare=False)
    tables: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def reject_ratio(self) -> float:
        return self.rows_rejected / self.rows_total if self.rows_total else 0.0


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)

    @property
    def rows_total(self) -> int:
        return sum(f.rows_total for f in self.files if f.status == "loaded")

    @property
    def rows_accepted(self) -> int:
        return sum(f.rows_accepted for f in self.files if f.status == "loaded")

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files if f.status == "loaded")

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    def render(self) -> str:
        counts = Counter(f.status for f in self.files)
        head = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no files"
        return (
            f"{len(self.files)} file(s): {head}; rows: {self.rows_total} read, "
            f"{self.rows_accepted} accepted, {self.rows_rejected} rejected"
        )


@dataclass
class Normalized:
    """One file, normalized in memory: what would be written for it."""

    raw: RawFile
    tables: dict[str, pl.DataFrame]  # landing table → rows (rejected_rows included)
    rows_accepted: int
    rows_rejected: int
    notes: list[str]
    snapshot: Snapshot | None = None  # CRM deals files: when the export was taken


@dataclass
class NormalizedRows:
    """Raw rows of one file, or of one batch of it, normalized."""

    tables: dict[str, pl.DataFrame]  # landing table → rows (rejected_rows not yet)
    accepted: int
    rejects: pl.DataFrame  # the transform's rejects
    notes: list[str]
    times: RowTimes = field(default_factory=RowTimes)  # CRM deals: for the snapshot time


# --- the run: plan → load each file → finish ------------------------------------------
#
# Three phases, so that an orchestrator can run the loads as independent steps (in
# parallel processes or machines sharing the landing folder):
#   plan_ingest    reads the inbox and the ledger, writes nothing: the files to load, in order;
#   load_file      one file → normalized parts in its own staging folder (no ledger, no lock);
#   finish_ingest  under the writer lock: publish the staged parts, ledger rows in order,
#                  inferred snapshot history, quality check.
# `ingest_inbox` runs the three in one process. A crash anywhere before a file's ledger row
# is written leaves the file new for the next run, whose parts (named by file_id) replace
# whatever was published.

STAGING = ".staging"
LOCAL_ATTEMPT = "local"  # the staging sub-folder of in-process runs (the CLI holds the lock)
STALE_STAGING_S = 24 * 3600  # a staging folder untouched this long is a crashed run's


@dataclass(frozen=True)
class PlannedFile:
    """A new inbox file to read (picklable: it may cross process boundaries)."""

    source: str
    preset: str
    path: str  # relative to the inbox
    file_id: str
    streamed: bool = False  # read in batches (large CSV of a preset that can)
    utf8: str | None = None  # streamed: the encoding the fingerprint pass found, if UTF-8
    signature: tuple[int, int] | None = None  # (size, mtime_ns) when planned
    copy_of: str | None = None  # same bytes as an earlier new file of this run: not read

    @property
    def mapping_key(self) -> str:
        return safe_key(self.file_id)


@dataclass
class IngestPlan:
    """Every candidate file of the run, in order: a FileResult settled at planning time
    (`incomplete`, or a `duplicate` of bytes already loaded), or a PlannedFile."""

    items: list[PlannedFile | FileResult] = field(default_factory=list)

    @property
    def to_load(self) -> list[PlannedFile]:
        return [i for i in self.items if isinstance(i, PlannedFile) and i.copy_of is None]


def safe_key(file_id: str) -> str:
    """A file id as a name for steps and folders (letters, digits, underscores)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", file_id)


def ingest_inbox(
    config: Config,
    *,
    progress: Callable[[str], None] | None = None,
    settle_seconds: float = SETTLE_SECONDS,
    memory_budget_mb: int = MEMORY_BUDGET_MB,
    stream_min_bytes: int = STREAM_MIN_BYTES,
) -> IngestSummary:
    """Load every new inbox file into landing; raise IngestError if any failed or is too dirty.

    Large CSV files of the asterisk and generic presets are read in batches sized from
    `memory_budget_mb` (files of `stream_min_bytes` or more); others are read whole."""
    plan = plan_ingest(config, settle_seconds=settle_seconds, stream_min_bytes=stream_min_bytes)
    results = [
        load_file(config, planned, memory_budget_mb=memory_budget_mb) for planned in plan.to_load
    ]
    return finish_ingest(config, plan, results, progress=progress)


def plan_ingest(
    config: Config,
    *,
    settle_seconds: float = SETTLE_SECONDS,
    stream_min_bytes: int = STREAM_MIN_BYTES,
) -> IngestPlan:
    """The inbox against the ledger: which files to read. Reads files (to hash them), writes
    nothing. A file already in the ledger under the same name with a final status is left
    out; bytes already loaded are a duplicate; two new files with the same bytes are read
    once (the later one is `copy_of` the first)."""
    landing, inbox = config.landing_dir, config.inbox_dir
    seen, loaded = _ledger_state(landing)
    first_with: dict[str, str] = {}  # file_id → the first new file of this run with these bytes
    plan = IngestPlan()
    candidates = _candidates(config, inbox)
    unsettled = _unsettled([path for _, path in candidates], settle_seconds)
    for source, path in candidates:
        name = io.relative_name(inbox, path)
        if io.looks_partial(path) or path in unsettled:
            plan.items.append(_incomplete(name, source, "still being written"))
            continue
        signature = io.file_signature(path)
        stream = registry.can_stream(source, name) and signature[0] >= stream_min_bytes
        utf8 = None
        if stream:
            file_id, utf8 = fastcsv.fingerprint(path)
        else:
            file_id = io.content_id(io.read_bytes(path))
        if (file_id, name) in seen:
            continue
        if file_id in loaded:
            plan.items.append(
                _duplicate(name, source.name, source.preset, file_id, loaded[file_id])
            )
            continue
        plan.items.append(
            PlannedFile(
                source.name,
                source.preset,
                name,
                file_id,
                streamed=stream,
                utf8=utf8,
                signature=signature,
                copy_of=first_with.get(file_id),
            )
        )
        first_with.setdefault(file_id, name)
    return plan


def load_file(
    config: Config,
    planned: PlannedFile,
    *,
    memory_budget_mb: int = MEMORY_BUDGET_MB,
    attempt: str = LOCAL_ATTEMPT,
) -> FileResult:
    """Read and normalize one planned file into its staging folder
    (`<landing>/.staging/<file_id>/<attempt>`). No ledger row, no lock: loads of different
    files, or of one file by two runs (different `attempt`s), may run side by side.
    `loaded` results carry the staged folder for finish_ingest; any other status left
    nothing behind. Raises only on unexpected errors (a SourceError is a `failed` result)."""
    source = config.source(planned.source)
    landing, name, file_id = config.landing_dir, planned.path, planned.file_id
    path = config.inbox_dir / name
    staging = staging_dir(landing, file_id, attempt)
    if not path.is_file():
        return _incomplete(name, source, "gone from the inbox before it was read", file_id)
    if planned.streamed:
        if io.file_signature(path) != planned.signature:
            return _incomplete(name, source, "changed since it was planned", file_id)
        batch_bytes = max(1 << 16, memory_budget_mb * 1024**2 // BATCH_GROWTH)
        return _ingest_streamed(
            config, source, name, path, file_id, planned.utf8, staging, batch_bytes
        )
    data = io.read_bytes(path)
    if io.content_id(data) != file_id:
        return _incomplete(name, source, "changed since it was planned", file_id)
    return _ingest_one(config, source, name, data, file_id, staging)


def finish_ingest(
    config: Config,
    plan: IngestPlan,
    results: list[FileResult],
    *,
    progress: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Publish what the loads staged and write the ledger, in plan order; then refresh the
    inferred snapshot history and apply the quality check (IngestError, as ingest_inbox).

    Call under the writer lock. `results` are load_file's for plan.to_load (any order).
    The ledger is read again here: a file another run recorded since the plan is left
    alone, and bytes another run loaded since then make this file a duplicate."""
    say = progress or (lambda _message: None)
    landing = config.landing_dir
    io.ensure_landing(landing)
    seen, loaded = _ledger_state(landing)
    by_id = {result.file_id: result for result in results}
    outcome: dict[str, FileResult] = {}  # file_id → what became of the first file with it
    summary = IngestSummary()
    for item in plan.items:
        if isinstance(item, FileResult) and item.status == "incomplete":
            summary.files.append(item)
            say(_progress_line(item))
            continue
        file_id, name = item.file_id, item.path
        assert file_id is not None
        own = by_id.get(file_id) if isinstance(item, PlannedFile) and not item.copy_of else None
        if (file_id, name) in seen:  # recorded by another run since the plan
            _discard_staging(landing, own)
            continue
        if file_id in loaded:
            result = _duplicate(name, item.source, item.preset, file_id, loaded[file_id])
            _discard_staging(landing, own)
        elif isinstance(item, FileResult):
            result = item
        elif item.copy_of is not None:
            result = _copy_result(item, outcome.get(file_id))
        else:
            result = own or _failed(item, "its load step left no result; it will be read again")
            if result.status == "loaded" and result.reject_ratio > config.quality.max_reject_ratio:
                _discard_staging(landing, result)
                result = _too_dirty(config, result)
            if result.status == "loaded":
                result = _publish(landing, result)
            outcome[file_id] = result
        if result.status == "loaded":
            loaded[file_id] = name
        if result.status != "incomplete":
            io.record_ledger_row(landing, _ledger_row(result))
            _sweep_staging(landing, file_id)
        summary.files.append(result)
        say(_progress_line(result))
    _remove_if_empty(landing / STAGING)
    snapshot_history.refresh_inferred_history(config)
    problems = [_problem_line(config, row) for row in held_files(config)]
    if problems:
        raise IngestError("ingest failed:\n  " + "\n  ".join(problems), summary)
    return summary


def held_files(config: Config) -> list[dict]:
    """The quality rule `voronka ingest` and the Dagster check `reject_ratio_within_limit`
    share: the ledger rows of the inbox files whose latest row is `failed` (unreadable, or
    above quality.max_reject_ratio), or `loaded` above that ratio (a ledger written before
    such files failed). A file leaves the list when a corrected export takes its place (the
    same source and path, new bytes), when it is removed from the inbox, or when the ratio
    is raised (it is read again: failed is not final)."""
    ledger = io.read_ledger(config.landing_dir)
    if ledger.height == 0:
        return []
    inbox = config.inbox_dir
    present = {(s.name, io.relative_name(inbox, path)) for s, path in _candidates(config, inbox)}
    latest = ledger.sort("received_at").unique(["source", "path"], keep="last", maintain_order=True)
    limit = config.quality.max_reject_ratio
    held = []
    for row in latest.iter_rows(named=True):
        total = row["rows_total"] or 0
        dirty = row["status"] == "loaded" and total and (row["rows_rejected"] or 0) / total > limit
        if (row["source"], row["path"]) in present and (row["status"] == "failed" or dirty):
            held.append(row)
    return held


def _problem_line(config: Config, row: dict) -> str:
    """One held file, what is wrong and the command that shows why."""
    result = FileResult(row["path"], row["source"], row["preset"], row["status"], row["file_id"])
    command = check_command(config, result)
    if row["status"] == "failed":
        return f"{row['path']}: failed: {row['message']}; run `{command}`"
    return (
        f"{row['path']}: {row['rows_rejected'] / row['rows_total']:.1%} of rows rejected "
        f"({row['rows_rejected']} of {row['rows_total']}), above quality.max_reject_ratio "
        f"{config.quality.max_reject_ratio:.1%}; run `{command}`"
    )


def _too_dirty(config: Config, result: FileResult) -> FileResult:
    """A loaded result above quality.max_reject_ratio, as the `failed` file it becomes:
    nothing of it is published; the counts stay in its ledger row."""
    return replace(
        result,
        status="failed",
        staged=None,
        tables=(),
        message=(
            f"{result.reject_ratio:.1%} of rows rejected ({result.rows_rejected} of "
            f"{result.rows_total}), above quality.max_reject_ratio "
            f"{config.quality.max_reject_ratio:.1%}: nothing of it was loaded; put the "
            f"corrected export in its place (same name) or remove it. {result.message}"
        ),
    )


def check_command(config: Config, result: FileResult) -> str:
    """`voronka check` for an inbox file, to paste from any folder: the path relative to the
    inbox (check looks there too), the source, and the config file it was read from."""
    words = ["voronka", "check", result.path, "--source", result.source]
    if config.config_file is not None:
        words += ["--config", str(config.config_file)]
    return shlex.join(words)


def staging_dir(landing: Path, file_id: str, attempt: str = LOCAL_ATTEMPT) -> Path:
    """Where one load of one file stages its parts before finish_ingest publishes them."""
    return landing / STAGING / safe_key(file_id) / safe_key(attempt)


def _ledger_state(landing: Path) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """((file_id, path) pairs with a final status, {file_id: path} of loaded bytes)."""
    rows = list(io.read_ledger(landing).iter_rows(named=True))
    seen = {(r["file_id"], r["path"]) for r in rows if r["status"] in FINAL_STATUSES}
    loaded = {r["file_id"]: r["path"] for r in rows if r["status"] == "loaded"}
    return seen, loaded


def _incomplete(name: str, source: Source, why: str, file_id: str | None = None) -> FileResult:
    return FileResult(
        name,
        source.name,
        source.preset,
        "incomplete",
        file_id,
        message=f"{why}; will be read on a later run",
    )


def _duplicate(name: str, source: str, preset: str, file_id: str, original: str) -> FileResult:
    return FileResult(
        name,
        source,
        preset,
        "duplicate",
        file_id,
        message=f"same bytes as {original} (already loaded)",
    )


def _failed(planned: PlannedFile, message: str) -> FileResult:
    return FileResult(
        planned.path,
        planned.source,
        planned.preset,
        "failed",
        planned.file_id,
        message=f"{planned.path}: {message}",
    )


def failed_load(planned: PlannedFile, error: BaseException) -> FileResult:
    """The result of a load that raised an unexpected error (an orchestrator records it as
    `failed` so the other files still finish; the file is read again on the next run)."""
    return _failed(planned, f"unexpected error while reading: {type(error).__name__}: {error}")


def _copy_result(planned: PlannedFile, first: FileResult | None) -> FileResult:
    """A second new file with the same bytes whose first was not loaded: it shares the
    first one's fate (same bytes, same outcome), nothing of it is read."""
    if first is None:  # another run recorded the first one meanwhile, not as loaded
        return _failed(planned, f"same bytes as {planned.copy_of}; it will be read again")
    return FileResult(
        planned.path,
        planned.source,
        planned.preset,
        first.status,
        planned.file_id,
        first.encoding,
        first.delimiter,
        message=f"same bytes as {planned.copy_of}: {first.message}",
    )


def _publish(landing: Path, result: FileResult) -> FileResult:
    """Move a loaded file's staged parts into landing; a result whose staging folder is gone
    (a crash, or a cleanup) becomes `failed`, so it is read again next run, not lost."""
    staging = landing / result.staged if result.staged else None
    if staging is None or not staging.is_dir():
        return replace(
            result,
            status="failed",
            rows_total=0,
            rows_accepted=0,
            rows_rejected=0,
            message=f"{result.path}: its staged parts are gone; it will be read again next run",
        )
    _publish_parts(landing, staging, result.file_id, set(result.tables))
    _remove_if_empty(staging.parent)
    return result


def _discard_staging(landing: Path, result: FileResult | None) -> None:
    if result is not None and result.staged:
        staging = landing / result.staged
        shutil.rmtree(staging, ignore_errors=True)
        _remove_if_empty(staging.parent)


def _sweep_staging(landing: Path, file_id: str) -> None:
    """Remove what crashed runs staged for a file now in the ledger (long untouched only:
    a concurrent run may be staging the same file right now; it finds it recorded)."""
    folder = landing / STAGING / safe_key(file_id)
    if not folder.is_dir():
        return
    for attempt in folder.iterdir():
        try:
            stale = time.time() - attempt.stat().st_mtime > STALE_STAGING_S
        except FileNotFoundError:
            continue
        if stale:
            shutil.rmtree(attempt, ignore_errors=True)
    _remove_if_empty(folder)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: another attempt's folder
        folder.rmdir()


def _candidates(config: Config, inbox: Path) -> list[tuple[Source, Path]]:
    """(source, file) pairs; a file matched by two sources' globs belongs to the first."""
    claimed: set[Path] = set()
    pairs = []
    for source in config.sources:
        for path in io.list_inbox(inbox, source.files):
            if path not in claimed:
                claimed.add(path)
                pairs.append((source, path))
    return pairs


def _unsettled(paths: list[Path], settle_seconds: float) -> set[Path]:
    """Files whose size or mtime changes across a short wait (one wait for the whole inbox)."""
    if settle_seconds <= 0 or not paths:
        return set()
    before = {path: io.file_signature(path) for path in paths}
    time.sleep(settle_seconds)
    return {path for path in paths if not path.exists() or io.file_signature(path) != before[path]}


def _ingest_one(
    config: Config,
    source: Source,
    name: str,
    data: bytes,
    file_id: str,
    staging: Path,
) -> FileResult:
    """One file read whole: normalized in memory, its parts written to `staging`."""
    result = FileResult(name, source.name, source.preset, "failed", file_id)
    try:
        normalized = normalize_file(config, source, name, data, file_id)
    except SourceError as error:
        result.message = str(error) if str(error).startswith(name) else f"{name}: {error}"
        return result
    raw = normalized.raw
    result.encoding, result.delimiter = raw.encoding, raw.delimiter
    if raw.rows_total == 0:
        result.status, result.message = "empty", "no records (empty or header only)"
        return result
    shutil.rmtree(staging, ignore_errors=True)
    tables = {table for table, rows in normalized.tables.items() if rows.height}
    try:
        for table in sorted(tables):
            io.write_part(staging, table, file_id, normalized.tables[table])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    counts = (raw.rows_total, normalized.rows_accepted, normalized.rows_rejected)
    return _staged(result, config, staging, counts, _load_message(normalized), tables)


def _ingest_streamed(
    config: Config,
    source: Source,
    name: str,
    path: Path,
    file_id: str,
    utf8: str | None,
    staging: Path,
    batch_bytes: int,
) -> FileResult:
    """One large file, batch by batch: each batch normalized and written to `staging`; the
    parts are published (finish_ingest) only when the whole file went through."""
    result = FileResult(name, source.name, source.preset, "failed", file_id)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        counts = _stream_file(config, source, name, path, file_id, utf8, staging, batch_bytes)
    except SourceError as error:
        shutil.rmtree(staging, ignore_errors=True)
        result.message = str(error) if str(error).startswith(name) else f"{name}: {error}"
        return result
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result.encoding, result.delimiter = counts["encoding"], counts["delimiter"]
    if counts["total"] == 0:
        shutil.rmtree(staging, ignore_errors=True)
        result.status, result.message = "empty", "no records (empty or header only)"
        return result
    parts = [f"{counts['accepted']} accepted, {counts['rejected']} rejected"]
    first = counts["first_reject"]
    if first:
        where = f"row {first['row_number']}, column {first['column']!r}"
        parts.append(f"first reject: {where}: {mask_phones(first['reason'])}")
    if counts["snapshot"] is not None:
        parts.append(_snapshot_note(counts["snapshot"]))
    rows = (counts["total"], counts["accepted"], counts["rejected"])
    return _staged(
        result, config, staging, rows, "; ".join(parts + counts["notes"]), counts["tables"]
    )


def _staged(
    result: FileResult,
    config: Config,
    staging: Path,
    rows: tuple[int, int, int],
    message: str,
    tables,
) -> FileResult:
    """`result` as a loaded file whose parts wait in `staging` for finish_ingest; rows are
    (total, accepted, rejected)."""
    staging.mkdir(parents=True, exist_ok=True)  # (history records may add no rows at all)
    result.status = "loaded"
    result.rows_total, result.rows_accepted, result.rows_rejected = rows
    result.message = message
    result.staged = staging.relative_to(config.landing_dir).as_posix()
    result.tables = tuple(sorted(tables))
    return result


def _stream_file(
    config: Config,
    source: Source,
    name: str,
    path: Path,
    file_id: str,
    utf8: str | None,
    staging: Path,
    batch_bytes: int,
) -> dict:
    encoding = fastcsv.resolve_encoding(path, source.formats.encoding, utf8)
    if source.preset == "asterisk":
        layout = streamed.asterisk_layout(source)
        head = fastcsv.first_record(fastcsv.header_text(path, encoding), layout.delimiter)
        asterisk.refuse_header(head.fields if head else None, name, source)
        header = None
    else:
        head_text = fastcsv.header_text(path, encoding)
        delimiter = sniff_delimiter(head_text, source.formats.delimiter)
        header = fastcsv.first_record(head_text, delimiter)
        layout = None
    delimiter = layout.delimiter if layout else delimiter
    counts = {"encoding": encoding, "delimiter": delimiter, "total": 0, "accepted": 0,
              "rejected": 0, "first_reject": None, "notes": [], "tables": set(),
              "snapshot": None}  # fmt: skip
    notes: list[list[str]] = []
    times = RowTimes()
    mixed = fastcsv.MixedLines()
    ctx = None
    width = layout.max_width if layout else (len(header.fields) if header and header.fields else 1)
    for number, batch in enumerate(
        fastcsv.record_batches(path, encoding, delimiter, width, batch_bytes)
    ):
        frame = batch.frame
        mixed.add(batch)
        if header is not None:  # generic: the first record is the header
            frame = frame.filter(pl.col("_row") > 1).with_columns(pl.col("_row") - 1)
            if frame.height and layout is None:
                layout = streamed.generic_layout(source, name, header, delimiter)
        if frame.height == 0:
            continue
        if source.preset == "asterisk":
            raw_frame, raw_rejects = streamed.asterisk_batch(frame, layout)
        else:
            raw_frame, raw_rejects = streamed.generic_batch(frame, layout, source)
        if ctx is None:
            raw = RawFile(pl.DataFrame(), raw_rejects, 0, encoding, delimiter,
                          layout.columns_found, layout.labels, layout.expected)  # fmt: skip
            ctx = _context(config, source, raw, name, file_id)
        normalized = _normalize_frame(source, raw_frame, ctx)
        tables, accepted = normalized.tables, normalized.accepted
        times = times.merge(normalized.times)
        rejects = (
            pl.concat([raw_rejects.cast(REJECT_SCHEMA), normalized.rejects.cast(REJECT_SCHEMA)])
            .sort("row_number")
            .with_columns(file_id=pl.lit(file_id))
            .pipe(bounded_raw)
        )
        tables["rejected_rows"] = rejects
        if accepted + rejects.height != frame.height:  # the contract; a miss is a bug here
            raise AssertionError(
                f"{name}: batch {number}: {frame.height} records but {accepted} accepted + "
                f"{rejects.height} rejected"
            )
        if rejects.height and counts["first_reject"] is None:
            counts["first_reject"] = rejects.row(0, named=True)
        counts["total"] += frame.height
        counts["accepted"] += accepted
        counts["rejected"] += rejects.height
        notes.append(normalized.notes)
        for table, rows in tables.items():
            if rows.height:
                counts["tables"].add(table)
                io.write_part(staging, table, file_id, rows, batch=number)
    if encoding == "cp1251":  # lines in UTF-8 are named, as text.decode names them
        counts["encoding"] = mixed.describe()
    if layout is not None:
        counts["columns_found"] = layout.columns_found
        if source.kind == "crm":
            # The snapshot is the whole file's: known now, stamped on every batch's parts.
            snapshot = _snapshot(config, source, name, times, layout.labels)
            for table in SNAPSHOT_TABLES:
                io.set_file_column(staging, table, file_id, "snapshot_at", snapshot.at)
            counts["snapshot"] = snapshot
    counts["notes"] = merge_notes(notes)
    return counts


def _publish_parts(landing: Path, staging: Path, file_id: str, tables: set[str]) -> None:
    """Move a file's staged parts into landing (each into its month folder), replacing any
    parts it had before; the layout is io's (io.publish_file_parts)."""
    io.publish_file_parts(landing, staging, file_id, tables)
    shutil.rmtree(staging, ignore_errors=True)


_COUNTED = re.compile(r"^(\d+) (.*)$")


def merge_notes(batches: list[list[str]]) -> list[str]:
    """Notes of several batches ("<n> <what>") → one note per <what>, counts summed."""
    totals: dict[str, int] = {}
    others: list[str] = []
    for notes in batches:
        for note in notes:
            match = _COUNTED.match(note)
            if match:
                totals[match[2]] = totals.get(match[2], 0) + int(match[1])
            elif note not in others:
                others.append(note)
    return [f"{n} {what}" for what, n in totals.items()] + others


def _load_message(normalized: Normalized) -> str:
    parts = [f"{normalized.rows_accepted} accepted, {normalized.rows_rejected} rejected"]
    rejects = normalized.tables["rejected_rows"]
    if rejects.height:
        first = rejects.row(0, named=True)
        parts.append(
            f"first reject: row {first['row_number']}, "
            f"column {first['column']!r}: {mask_phones(first['reason'])}"
        )
    if normalized.snapshot is not None:
        parts.append(_snapshot_note(normalized.snapshot))
    return "; ".join(parts + normalized.notes)


def _snapshot_note(snapshot: Snapshot) -> str:
    return f"snapshot {snapshot.describe()}"


def _ledger_row(result: FileResult) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "file_id": result.file_id,
                "path": result.path,
                "source": result.source,
                "preset": result.preset,
                "encoding": result.encoding,
                "delimiter": result.delimiter,
                "received_at": dt.datetime.now(dt.UTC),
                "rows_total": result.rows_total,
                "rows_accepted": result.rows_accepted,
                "rows_rejected": result.rows_rejected,
                "status": result.status,
                "message": result.message,
            }
        ]
    )


def _progress_line(result: FileResult) -> str:
    if result.status == "incomplete":
        return f"{result.path}: skipped, {result.message}"
    if result.status == "loaded":
        return (
            f"{result.path}: loaded {result.rows_accepted} of {result.rows_total} rows "
            f"({result.rows_rejected} rejected)"
        )
    return f"{result.path}: {result.status}: {result.message}"


# --- one file, in memory (shared by ingest and check) --------------------------------


def normalize_file(
    config: Config, source: Source, name: str, data: bytes, file_id: str
) -> Normalized:
    """Bytes of one export → the landing rows it would add. Raises SourceError."""
    raw = read_file(data, name, source)
    if raw.rows_total == 0:
        return Normalized(raw, {}, 0, 0, [])
    ctx = _context(config, source, raw, name, file_id)
    rows = _normalize_frame(source, raw.frame, ctx)
    tables, accepted, snapshot = rows.tables, rows.accepted, None
    if source.kind == "crm":  # the snapshot needs every row's times: chosen after parsing
        snapshot = _snapshot(config, source, name, rows.times, raw.labels)
        tables = with_snapshot(tables, snapshot.at)
    rejects = (
        pl.concat([raw.rejects.cast(REJECT_SCHEMA), rows.rejects.cast(REJECT_SCHEMA)])
        .sort("row_number")
        .with_columns(file_id=pl.lit(file_id))
        .pipe(bounded_raw)
    )
    tables["rejected_rows"] = rejects
    if accepted + rejects.height != raw.rows_total:  # the contract; a miss is a bug here
        raise AssertionError(
            f"{name}: {raw.rows_total} records but {accepted} accepted + {rejects.height} rejected"
        )
    return Normalized(raw, tables, accepted, rejects.height, rows.notes, snapshot)


def _snapshot(
    config: Config, source: Source, name: str, times: RowTimes, labels: dict[str, str]
) -> Snapshot:
    """A CRM deals file's snapshot time, from its name or its rows (never the clock)."""
    zone = config.source_timezone(source)
    return snapshot_of_file(PurePath(name).name, zone, times, labels.get("modified_at"))


# A deals file named with its snapshot date holds no time later than that, give or take a
# day (a bare date means 00:00, and the rows of that day come after it).
NAMED_SNAPSHOT_GRACE = dt.timedelta(days=1)


def ingest_day(zone: str) -> dt.date:
    """Today in the source's zone: the day the file is read."""
    return dt.datetime.now(ZoneInfo(zone)).date()


def latest_plausible(config: Config, source: Source, name: str) -> tuple[dt.datetime, str]:
    """The latest instant a file's rows may state (UTC) and what it is: for a deals file
    with a date in its name, that snapshot time (plus NAMED_SNAPSHOT_GRACE); otherwise the
    end of the day it is read, in the source's zone. Raises SourceError when the name's
    date is itself after that day."""
    zone = config.source_timezone(source)
    today = ingest_day(zone)
    end_of_day = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), ZoneInfo(zone))
    end_of_day = end_of_day.astimezone(dt.UTC)
    why = f"the end of the day it was read ({today.isoformat()}, {zone})"
    named = snapshot_from_name(PurePath(name).name, zone) if source.kind == "crm" else None
    if named is None:
        return end_of_day, why
    if named > end_of_day:
        raise SourceError(
            f"the date in the file name ({Snapshot(named, FROM_NAME).describe()}) is after "
            f"the day it was read ({today.isoformat()}); rename the file with its export date"
        )
    snapshot = Snapshot(named, FROM_NAME).describe()
    return named + NAMED_SNAPSHOT_GRACE, f"the file's snapshot time {snapshot} plus a day"


def _normalize_frame(source: Source, frame: pl.DataFrame, ctx: NormalizeContext) -> NormalizedRows:
    """Raw rows of one file (or one batch of it) → landing tables, accepted, rejects, notes
    (CRM deals: with snapshot_at NULL, and the times the rows state to choose it from).
    Values are cleaned and bounded first (transform.values)."""
    frame, too_long, cleaned = clean_values(frame, ctx)
    rows = _normalize_kind(source, frame, ctx)
    if too_long.height:
        rows.rejects = pl.concat([too_long.cast(REJECT_SCHEMA), rows.rejects.cast(REJECT_SCHEMA)])
    rows.notes = cleaned + rows.notes
    return rows


def _normalize_kind(source: Source, frame: pl.DataFrame, ctx: NormalizeContext) -> NormalizedRows:
    tables: dict[str, pl.DataFrame]
    if source.kind == "crm":
        deals = normalize_deals(frame, ctx)
        tables = {
            "crm_deals": deals.deals,
            "crm_deal_phones": deals.phones,
            "crm_deal_attributes": deals.attributes,
        }
        if deals.events.height:  # exact entries written in the deals file (stage dates)
            tables["crm_stage_events"] = deals.events
        return NormalizedRows(tables, deals.deals.height, deals.rejects, deals.notes, deals.times)
    if source.kind == "crm_history":
        history = normalize_history(frame, ctx)
        tables = {"crm_stage_events": history.events}
        return NormalizedRows(tables, history.accepted_rows, history.rejects, history.notes)
    calls = normalize_calls(frame, ctx)
    return NormalizedRows({"calls": calls.calls}, calls.calls.height, calls.rejects, calls.notes)


def _context(
    config: Config, source: Source, raw: RawFile, name: str, file_id: str
) -> NormalizeContext:
    zone = config.source_timezone(source)
    latest, why = latest_plausible(config, source, name)
    times = TimeFormat(
        zone,
        source.formats.date,
        excel_serial=raw.delimiter is None,
        min_year=config.quality.min_year,
        max_year=config.quality.max_year or ingest_day(zone).year + 1,
        not_after=latest,
        not_after_reason=why,
    )
    return NormalizeContext(
        source=source.history_of
        if source.kind == "crm_history" and source.history_of
        else source.name,
        file_id=file_id,
        times=times,
        decimal=source.formats.decimal,
        manager_aliases=config.manager_aliases(),
        phone_hash_key=config.phone_hash_key(),
        won=tuple(source.status.won),
        lost=tuple(source.status.lost),
        labels=raw.labels,
        expected=raw.expected,
    )


# --- dry run: `voronka check FILE` ---------------------------------------------------


@dataclass
class CheckReport:
    path: str
    source: str
    kind: str
    preset: str
    status: str  # what ingest would record: loaded / empty / failed / duplicate
    message: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    columns_found: list[str] = field(default_factory=list)
    column_mapping: dict[str, str] = field(default_factory=dict)
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_sample: list[dict] = field(default_factory=list)
    stages_seen: dict[str, int] = field(default_factory=dict)
    max_reject_ratio: float = 0.0
    snapshot: str | None = None  # CRM deals files: the time and the rule that gave it
    stage_times_unknown: bool = False  # a deals source with no history of any kind
    expects: str = ""  # the file the preset reads (registry), said when the file fails

    @property
    def reject_ratio(self) -> float:
        return self.rows_rejected / self.rows_total if self.rows_total else 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def problem(self) -> str | None:
        """Why ingest would fail on the file (None: it would load, or skip it harmlessly)."""
        if self.status == "failed":
            return self.message
        if self.reject_ratio > self.max_reject_ratio:  # loaded, or already loaded before
            return (
                f"{self.reject_ratio:.1%} of rows rejected, above quality.max_reject_ratio "
                f"{self.max_reject_ratio:.1%}"
            )
        return None

    def render(self) -> str:
        delimiter = {"\t": "tab", None: "(workbook)"}.get(self.delimiter, self.delimiter)
        lines = [
            f"file:       {self.path}",
            f"source:     {self.source} (kind {self.kind}, preset {self.preset})",
            f"encoding:   {self.encoding or '(workbook)'}",
            f"delimiter:  {delimiter!r}" if self.delimiter else f"delimiter:  {delimiter}",
            f"status:     {self.status}" + (f" — {self.message}" if self.message else ""),
        ]
        if self.status == "failed" and self.expects:
            lines.append(f"expects:    {self.expects}")
        if self.columns_found:
            lines.append("columns found: " + ", ".join(self.columns_found))
        if self.column_mapping:
            lines.append("column mapping:")
            lines += [
                f"  {_mapping_key(key):<22} ← {column}"
                for key, column in self.column_mapping.items()
            ]
        lines.append(
            f"rows:       {self.rows_total} read, {self.rows_accepted} accepted, "
            f"{self.rows_rejected} rejected "
            f"({self.reject_ratio:.1%}; limit {self.max_reject_ratio:.1%})"
        )
        if self.snapshot:
            lines.append(f"snapshot:   {self.snapshot}")
        if self.stage_times_unknown:
            lines.append(f"stage times: {STAGE_TIMES_UNKNOWN}")
        if self.rejected_sample:
            lines.append(f"first rejected rows ({len(self.rejected_sample)} shown, phones masked):")
            for row in self.rejected_sample:
                lines.append(
                    f"  row {row['row_number']}, column {row['column']!r}: "
                    f"{mask_phones(row['reason'])} (expected {row['expected']})"
                )
                lines.append(f"      {mask_phones(row['raw'][:160])!r}")
        if self.stages_seen:
            lines.append("stages seen (deals/events):")
            lines += [f"  {stage}: {n}" for stage, n in self.stages_seen.items()]
        verdict = "OK" if self.ok else "would FAIL ingest"
        if self.ok and self.status == "duplicate":
            verdict = "OK (ingest would record it as a duplicate, loading nothing)"
        lines.append(f"verdict:    {verdict}")
        return "\n".join(lines)


STAGE_TIMES_UNKNOWN = (
    "unknown from one export without history — send weekly exports or a stage-history file"
)


def has_no_history(config: Config, source: Source) -> bool:
    """A deals source whose stage times one export cannot tell: no history source points at
    it, and its files write no stage entries (no stage_dates, no in-file history)."""
    told = [s.history_of for s in config.sources if s.kind == "crm_history"]
    in_file = snapshot_history.has_in_file_history(source)
    return source.kind == "crm" and source.name not in told and not in_file


def _mapping_key(key: str) -> str:
    """A canonical column as `check` shows it: a stage-date column says what it becomes."""
    if not key.startswith(STAGE_DATE_PREFIX):
        return key
    stage = key.removeprefix(STAGE_DATE_PREFIX)
    position, _, named = stage.partition(":")  # deals files: stage_date:<n>:<stage>
    return f"entered stage {(named if position.isdigit() else stage)!r}"


def check_file(
    config: Config, path: Path, source_name: str | None = None, *, sample_size: int = 10
) -> CheckReport:
    """Dry-run one export the way ingest would read it. Writes nothing."""
    path = Path(path)
    source = _source_for(config, path, source_name)
    name = io.relative_name(config.inbox_dir, path)
    report = CheckReport(
        name,
        source.name,
        source.kind,
        source.preset,
        "failed",
        max_reject_ratio=config.quality.max_reject_ratio,
        expects=registry.preset_of(source).expects,
    )
    data = io.read_bytes(path)
    file_id = io.content_id(data)
    try:
        normalized = normalize_file(config, source, name, data, file_id)
    except SourceError as error:
        report.message = str(error)
        return report
    raw = normalized.raw
    report.encoding, report.delimiter = raw.encoding, raw.delimiter
    report.columns_found, report.column_mapping = raw.columns_found, dict(raw.labels)
    if raw.rows_total == 0:
        report.status, report.message = "empty", "no records (empty or header only)"
        return report
    report.status = "loaded"
    report.rows_total = raw.rows_total
    report.rows_accepted, report.rows_rejected = normalized.rows_accepted, normalized.rows_rejected
    report.rejected_sample = normalized.tables["rejected_rows"].head(sample_size).to_dicts()
    report.stages_seen = _stages(normalized.tables)
    report.stage_times_unknown = has_no_history(config, source)
    if normalized.snapshot is not None:
        report.snapshot = normalized.snapshot.describe()
    report.message = "; ".join(normalized.notes)
    already = _already_loaded(config, file_id)
    if already:
        report.status, report.message = "duplicate", f"these bytes are already loaded as {already}"
    return report


def _source_for(config: Config, path: Path, source_name: str | None) -> Source:
    if source_name:
        try:
            return config.source(source_name)
        except KeyError:
            known = ", ".join(s.name for s in config.sources)
            raise IngestError(
                f"unknown source {source_name!r}; configured sources: {known}"
            ) from None
    name = io.relative_name(config.inbox_dir, path)
    for source in config.sources:
        if PurePath(name).match(source.files):
            return source
    patterns = ", ".join(f"{s.name}: {s.files}" for s in config.sources)
    raise IngestError(f"{path}: matches no source's files pattern ({patterns}); pass --source NAME")


def _stages(tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for table in ("crm_deals", "crm_stage_events"):
        if table in tables:
            counts.update(tables[table]["stage"].drop_nulls().to_list())
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _already_loaded(config: Config, file_id: str) -> str | None:
    path = io.ledger_path(config.landing_dir)
    if not path.exists():
        return None
    ledger = io.read_ledger(config.landing_dir)
    hits = ledger.filter((pl.col("file_id") == file_id) & (pl.col("status") == "loaded"))
    return hits["path"][0] if hits.height else None
