"""Ingest: inbox files → landing parquet, one file at a time, through the file ledger.

For each source (in config order) and each file matching its glob (sorted): skip files
still being written; fingerprint the bytes (sha256 = file_id); bytes already loaded —
under any name — are a `duplicate`; otherwise read the file's batches (its preset's reader,
pipeline.sources; a file read whole is one batch) → normalize each (pipeline.transform) →
write its parts, then the file's ledger row. A file already in the ledger under the same
name with a final status is not looked at again, so re-running on an unchanged inbox adds
nothing. Every record lands either in its main table or in `rejected_rows`:
rows_total = rows_accepted + rows_rejected for every loaded file.

The run is three phases, so that an orchestrator (Dagster) can run each file's load as its
own step, in parallel processes or machines sharing the landing folder:
  plan    plan_ingest: reads the inbox and the ledger (hashes only files it has not seen as
          they are: ingest.fingerprints): the files to load;
  load    load_file: one file → normalized parts in its own staging folder (no ledger, no
          lock), read through `read` (the one read path, shared with `check`);
  finish  finish_ingest, under the writer lock: publish the staged parts, ledger rows in
          plan order, quality check (stage entries inferred from snapshots are a dbt
          model, int_stage_entries_inferred).
`ingest_inbox` runs the three; its loads run side by side in processes of their own when
the files are large (load_files); `check` is the dry run of one file. A crash
anywhere before a file's ledger row is written leaves the file new for the next run, whose
parts (named by file_id) replace whatever was published.

Failures are loud but never partial: a file that cannot be read (a missing column, an
unknown encoding), or whose reject ratio is above `quality.max_reject_ratio`, is recorded
as `failed` with nothing written (its ledger row keeps the counts and the first reject;
`voronka check` shows every reject). A failed file is read again on every run, so it stays
failed until a corrected export takes its place under the same name, or it is removed
from the inbox. After all files, IngestError names every inbox file whose latest ledger
row is a failure (`held_files`: the one rule of the CLI and the Dagster check).
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import Config
from pipeline.ingest.check import STAGE_TIMES_UNKNOWN, CheckReport, check_file, has_no_history
from pipeline.ingest.finish import failed_load, finish_ingest, held_files
from pipeline.ingest.load import MEMORY_BUDGET_MB, load_file, load_files, staging_dir
from pipeline.ingest.plan import (
    SETTLE_SECONDS,
    STREAM_MIN_BYTES,
    IngestPlan,
    PlannedFile,
    plan_ingest,
    safe_key,
)
from pipeline.ingest.read import latest_plausible, merge_notes, normalize_file
from pipeline.ingest.results import (
    MAIN_TABLE,
    FileResult,
    IngestError,
    IngestSummary,
    check_command,
)


def ingest_inbox(
    config: Config,
    *,
    progress: Callable[[str], None] | None = None,
    settle_seconds: float = SETTLE_SECONDS,
    memory_budget_mb: int = MEMORY_BUDGET_MB,
    stream_min_bytes: int = STREAM_MIN_BYTES,
    processes: int | None = None,
) -> IngestSummary:
    """Load every new inbox file into landing; raise IngestError if any failed or is too dirty.

    Large CSV files of a preset whose reader reads batches are read in batches sized from
    `memory_budget_mb` (files of `stream_min_bytes` or more); others are read whole. Large
    files load side by side in `processes` processes (default: load_processes), the
    budget shared between them."""
    plan = plan_ingest(config, settle_seconds=settle_seconds, stream_min_bytes=stream_min_bytes)
    results = load_files(
        config, plan.to_load, memory_budget_mb=memory_budget_mb, processes=processes
    )
    return finish_ingest(config, plan, results, progress=progress)


__all__ = [
    "MAIN_TABLE",
    "STAGE_TIMES_UNKNOWN",
    "CheckReport",
    "FileResult",
    "IngestError",
    "IngestPlan",
    "IngestSummary",
    "PlannedFile",
    "check_command",
    "check_file",
    "failed_load",
    "finish_ingest",
    "has_no_history",
    "held_files",
    "ingest_inbox",
    "latest_plausible",
    "load_file",
    "load_files",
    "merge_notes",
    "normalize_file",
    "plan_ingest",
    "safe_key",
    "staging_dir",
]
