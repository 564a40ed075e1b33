"""Finish: under the writer lock, publish what the loads staged and write the ledger, in
plan order; apply the quality rule (`held_files`, shared with the Dagster check). Landing
is append-only: stage entries inferred from snapshots are a dbt model
(int_stage_entries_inferred), never written here."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pipeline import io
from pipeline.config import Config
from pipeline.ingest.load import STAGING
from pipeline.ingest.plan import (
    IngestPlan,
    PlannedFile,
    inbox_files,
    is_stale,
    ledger_state,
    loaded_readings,
    safe_key,
)
from pipeline.ingest.read_with import source_digests
from pipeline.ingest.results import (
    FileResult,
    IngestError,
    IngestSummary,
    check_command,
    duplicate,
    ledger_row,
    progress_line,
    too_dirty,
)

STALE_STAGING_S = 24 * 3600  # a staging folder untouched this long is a crashed run's
READ_AGAIN = " (read again: its source's settings changed since it was read)"
KEPT = "; it keeps the reading it had until it reads with the new settings"
LEFT_NO_RESULT = "its load step left no result; it will be read again"


def finish_ingest(
    config: Config,
    plan: IngestPlan,
    results: list[FileResult],
    *,
    progress: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Publish what the loads staged and write the ledger, in plan order; then apply the
    quality check (IngestError, as ingest_inbox).

    Call under the writer lock. `results` are load_file's for plan.to_load (any order).
    The ledger is read again here: a file another run recorded since the plan is left
    alone, and bytes another run loaded since then make this file a duplicate."""
    say = progress or (lambda _message: None)
    landing = config.landing_dir
    io.ensure_landing(landing)
    seen, loaded = ledger_state(landing)
    readings = loaded_readings(landing)
    digests = source_digests(config)
    by_id = {result.file_id: result for result in results}
    outcome: dict[str, FileResult] = {}  # file_id → what became of the first file with it
    summary = IngestSummary()
    kept: list[str] = []  # files read again that failed: they keep their earlier reading
    for item in plan.items:
        if isinstance(item, FileResult) and item.status == "incomplete":
            summary.files.append(item)
            say(progress_line(item))
            continue
        file_id, name = item.file_id, item.path
        assert file_id is not None
        own = by_id.get(file_id) if isinstance(item, PlannedFile) and not item.copy_of else None
        if isinstance(item, PlannedFile) and item.again:
            result = _finish_reading_again(config, item, own, readings.get(file_id), digests)
            if result is not None:
                summary.files.append(result)
                say(progress_line(result) + READ_AGAIN)
                if result.status != "loaded":
                    kept.append(f"{result.message}{KEPT}")
            continue
        if (file_id, name) in seen:  # recorded by another run since the plan
            _discard_staging(landing, own)
            continue
        if file_id in loaded:
            result = duplicate(name, item.source, item.preset, file_id, loaded[file_id])
            _discard_staging(landing, own)
        elif isinstance(item, FileResult):
            result = item
        elif item.copy_of is not None:
            result = _copy_result(item, outcome.get(file_id))
        else:
            result = _published(config, own or _failed(item, LEFT_NO_RESULT))
            outcome[file_id] = result
        if result.status == "loaded":
            loaded[file_id] = name
        if result.status != "incomplete":
            io.record_ledger_row(landing, ledger_row(result, digests[result.source]))
            _sweep_staging(landing, file_id)
        summary.files.append(result)
        say(progress_line(result))
    if plan.left_as_read:
        say(
            f"{plan.left_as_read} loaded file(s) were read with earlier settings of their source "
            "and are no longer in the inbox: they keep that reading"
        )
    _remove_if_empty(landing / STAGING)
    problems = kept + [_problem_line(config, row) for row in held_files(config)]
    if problems:
        raise IngestError("ingest failed:\n  " + "\n  ".join(problems), summary)
    return summary


def _published(config: Config, result: FileResult) -> FileResult:
    """A new reading's outcome: published when it loaded within quality.max_reject_ratio,
    else failed (its staging discarded)."""
    if result.status == "loaded" and result.reject_ratio > config.quality.max_reject_ratio:
        _discard_staging(config.landing_dir, result)
        result = too_dirty(config, result)
    return _publish(config.landing_dir, result) if result.status == "loaded" else result


def _finish_reading_again(
    config: Config,
    item: PlannedFile,
    own: FileResult | None,
    reading: dict | None,
    digests: dict[str, str],
) -> FileResult | None:
    """Loaded bytes read again (plan.is_stale): the new reading replaces the old one and
    keeps its first arrival (which orders the copies of a row). A new reading that fails
    leaves the old one as it was, its ledger row and its parts, and is returned failed
    (the ingest then fails naming it). None: another run read it again since the plan."""
    if not is_stale(reading, item.source, digests):
        _discard_staging(config.landing_dir, own)
        return None
    assert reading is not None
    result = _published(config, own or _failed(item, LEFT_NO_RESULT))
    if result.status != "loaded":
        _discard_staging(config.landing_dir, own)
        return result
    received = reading["received_at"]
    io.record_ledger_row(config.landing_dir, ledger_row(result, digests[item.source], received))
    if reading["path"] != item.path:  # read under a copy's name: the bytes' one loaded row
        earlier = duplicate(reading["path"], reading["source"], reading["preset"],
                            item.file_id, item.path)  # fmt: skip
        io.record_ledger_row(config.landing_dir, ledger_row(earlier))
    _sweep_staging(config.landing_dir, item.file_id)
    return result


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
    present = {(s.name, io.relative_name(inbox, path)) for s, path in inbox_files(config)}
    latest = ledger.sort("received_at").unique(["source", "path"], keep="last", maintain_order=True)
    limit = config.quality.max_reject_ratio
    held = []
    for row in latest.iter_rows(named=True):
        total = row["rows_total"] or 0
        dirty = row["status"] == "loaded" and total and (row["rows_rejected"] or 0) / total > limit
        if (row["source"], row["path"]) in present and (row["status"] == "failed" or dirty):
            held.append(row)
    return held


def failed_load(planned: PlannedFile, error: BaseException) -> FileResult:
    """The result of a load that raised an unexpected error (an orchestrator records it as
    `failed` so the other files still finish; the file is read again on the next run)."""
    return _failed(planned, f"unexpected error while reading: {type(error).__name__}: {error}")


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


def _failed(planned: PlannedFile, message: str) -> FileResult:
    return FileResult(
        planned.path,
        planned.source,
        planned.preset,
        "failed",
        planned.file_id,
        message=f"{planned.path}: {message}",
    )


def _copy_result(planned: PlannedFile, first: FileResult | None) -> FileResult:
    """A second new file with the same bytes whose first was not loaded: it shares the
    first one's fate (same bytes, same outcome), nothing of it is read."""
    if first is None:  # another run recorded the first one meanwhile, not as loaded
        return _failed(planned, f"same bytes as {planned.copy_of}; it will be read again")
    return replace(
        first,
        path=planned.path,
        source=planned.source,
        preset=planned.preset,
        file_id=planned.file_id,
        message=f"same bytes as {planned.copy_of}: {first.message}",
    )  # its counts too: the same bytes hold the same rows


def _publish(landing: Path, result: FileResult) -> FileResult:
    """Move a loaded file's staged parts into landing (each into its month folder,
    replacing any parts it had before; io.publish_file_parts); a result whose staging
    folder is gone (a crash, or a cleanup) becomes `failed`, so it is read again next run,
    not lost."""
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
    assert result.file_id is not None
    io.publish_file_parts(landing, staging, result.file_id, set(result.tables))
    shutil.rmtree(staging, ignore_errors=True)
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
