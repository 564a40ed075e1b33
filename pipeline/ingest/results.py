"""What ingest says about each file: its result (the ledger row it writes), the run's
summary, and the error that fails a run."""

from __future__ import annotations

import datetime as dt
import shlex
from collections import Counter
from dataclasses import dataclass, field, replace

import polars as pl

from pipeline.config import Config, Source

FINAL_STATUSES = ("loaded", "duplicate", "empty")  # a file with one is not read again
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


def incomplete(name: str, source: Source, why: str, file_id: str | None = None) -> FileResult:
    return FileResult(
        name,
        source.name,
        source.preset,
        "incomplete",
        file_id,
        message=f"{why}; will be read on a later run",
    )


def duplicate(name: str, source: str, preset: str, file_id: str, original: str) -> FileResult:
    return FileResult(
        name,
        source,
        preset,
        "duplicate",
        file_id,
        message=f"same bytes as {original} (already loaded)",
    )


def too_dirty(config: Config, result: FileResult) -> FileResult:
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


def ledger_row(
    result: FileResult, read_with: str | None = None, received_at: dt.datetime | None = None
) -> pl.DataFrame:
    """The file's ledger row: `read_with` the settings a loaded file was read with
    (ingest.read_with), `received_at` its arrival (now, unless it is read again: then the
    first arrival, which orders the copies of a row)."""
    return pl.DataFrame(
        [
            {
                "file_id": result.file_id,
                "path": result.path,
                "source": result.source,
                "preset": result.preset,
                "encoding": result.encoding,
                "delimiter": result.delimiter,
                "received_at": received_at or dt.datetime.now(dt.UTC),
                "rows_total": result.rows_total,
                "rows_accepted": result.rows_accepted,
                "rows_rejected": result.rows_rejected,
                "status": result.status,
                "message": result.message,
                "read_with": read_with if result.status == "loaded" else None,
            }
        ]
    )


def progress_line(result: FileResult) -> str:
    if result.status == "incomplete":
        return f"{result.path}: skipped, {result.message}"
    if result.status == "loaded":
        return (
            f"{result.path}: loaded {result.rows_accepted} of {result.rows_total} rows "
            f"({result.rows_rejected} rejected)"
        )
    return f"{result.path}: {result.status}: {result.message}"
