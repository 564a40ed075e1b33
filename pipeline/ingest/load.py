"""Load: one planned file → its normalized parts in its own staging folder. No ledger row,
no lock: loads of different files, or of one file by two runs, may run side by side;
finish publishes what they staged. `load_files` loads a run's files side by side, in
processes of its own, when they are large enough to pay for starting them."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
from collections.abc import Callable
from concurrent.futures import (
    FIRST_EXCEPTION,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from functools import partial
from pathlib import Path

import polars as pl

from pipeline import io
from pipeline.build_settings import available_cpus
from pipeline.config import Config
from pipeline.ingest.plan import PlannedFile, safe_key
from pipeline.ingest.read import Reading
from pipeline.ingest.results import FileResult, incomplete
from pipeline.processes import die_with, without_main_module
from pipeline.sources import Export, SourceError
from pipeline.transform.deals import SNAPSHOT_TABLES, with_snapshot

# A streamed file's batches are sized from this budget; a batch of raw text grows ~10×
# into frames.
MEMORY_BUDGET_MB = 1024
BATCH_GROWTH = 10
STAGING = ".staging"
LOCAL_ATTEMPT = "local"  # the staging sub-folder of in-process runs (the CLI holds the lock)
# Files load side by side, one process each, when together they are this large: a process
# costs ~1.5 s to start (it imports polars and the pipeline), and one file's load keeps
# ~1.3–1.9 CPUs busy (docs/performance.md "Streaming normalize").
PARALLEL_MIN_BYTES = 64 * 1024**2
PROCESS_MIN_BUDGET_MB = 256  # each process's share of the memory budget: batches of 25 MB+


def staging_dir(landing: Path, file_id: str, attempt: str = LOCAL_ATTEMPT) -> Path:
    """Where one load of one file stages its parts before finish_ingest publishes them."""
    return landing / STAGING / safe_key(file_id) / safe_key(attempt)


def load_processes(planned: list[PlannedFile], memory_budget_mb: int) -> int:
    """How many processes load `planned` side by side: one per CPU this process may use, at
    most one per file and one per PROCESS_MIN_BUDGET_MB of the budget; one when the files
    are smaller than PARALLEL_MIN_BYTES together."""
    if sum(file.size for file in planned) < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(available_cpus(), len(planned), memory_budget_mb // PROCESS_MIN_BUDGET_MB))


def load_files(
    config: Config,
    planned: list[PlannedFile],
    *,
    memory_budget_mb: int = MEMORY_BUDGET_MB,
    processes: int | None = None,
    attempt: str = LOCAL_ATTEMPT,
    on_error: Callable[[PlannedFile, BaseException], FileResult] | None = None,
) -> list[FileResult]:
    """load_file of every planned file; the results in the order of `planned`. With more
    than one process (`processes`, else load_processes), each loads one file at a time with
    an equal share of the memory budget, the largest files first (load_pool). A file's
    unexpected error: with `on_error`, on_error(file, error) is its result and the other
    files load on (an orchestrator's step); without, the first cancels the files not yet
    started and is raised when the others have ended."""
    count = load_processes(planned, memory_budget_mb) if processes is None else processes
    if count <= 1 or len(planned) <= 1:
        load = partial(load_file, config, memory_budget_mb=memory_budget_mb, attempt=attempt)
        return [_guarded(on_error, file, partial(load, file)) for file in planned]
    share = memory_budget_mb // count
    largest_first = sorted(range(len(planned)), key=lambda i: -planned[i].size)
    with load_pool(count) as pool:
        with without_main_module():  # the pool starts its processes as work is submitted
            futures = {
                i: pool.submit(
                    load_file, config, planned[i], memory_budget_mb=share, attempt=attempt
                )
                for i in largest_first
            }
        if on_error is None:  # with on_error, leaving the pool waits for every file
            done, _ = wait(futures.values(), return_when=FIRST_EXCEPTION)
            for future in done:
                if future.exception() is not None:
                    pool.shutdown(cancel_futures=True)
                    raise future.exception()
    return [_guarded(on_error, planned[i], futures[i].result) for i in range(len(planned))]


def _guarded(
    on_error: Callable[[PlannedFile, BaseException], FileResult] | None,
    planned: PlannedFile,
    load: Callable[[], FileResult],
) -> FileResult:
    """load(), or on_error(planned, error) for an unexpected error when on_error is set."""
    try:
        return load()
    except Exception as error:
        if on_error is None:
            raise
        return on_error(planned, error)


def load_pool(processes: int) -> ProcessPoolExecutor:
    """Processes to load files in: spawned, not forked (polars' thread pool does not survive
    a fork), each killed when this process dies (a killed `voronka ingest` leaves none)."""
    spawn = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(processes, spawn, initializer=die_with, initargs=(os.getpid(),))


def load_file(
    config: Config,
    planned: PlannedFile,
    *,
    memory_budget_mb: int = MEMORY_BUDGET_MB,
    attempt: str = LOCAL_ATTEMPT,
) -> FileResult:
    """Read and normalize one planned file into its staging folder
    (`<landing>/.staging/<file_id>/<attempt>`). `loaded` results carry the staged folder
    for finish_ingest; any other status left nothing behind. A streamed file is read in
    batches, each written as its own parts; the parts are published (finish_ingest) only
    when the whole file went through. Raises only on unexpected errors (a SourceError is a
    `failed` result)."""
    source = config.source(planned.source)
    name, file_id = planned.path, planned.file_id
    path = config.inbox_dir / name
    if not path.is_file():
        return incomplete(name, source, "gone from the inbox before it was read", file_id)
    if planned.streamed:
        if io.file_signature(path) != planned.signature:
            return incomplete(name, source, "changed since it was planned", file_id)
        batch_bytes = max(1 << 16, memory_budget_mb * 1024**2 // BATCH_GROWTH)
        export = Export(name, path=path, batch_bytes=batch_bytes, utf8=planned.utf8)
    else:
        data = io.read_bytes(path)
        if io.content_id(data) != file_id:
            return incomplete(name, source, "changed since it was planned", file_id)
        export = Export(name, data=data)
    result = FileResult(name, source.name, source.preset, "failed", file_id)
    staging = staging_dir(config.landing_dir, file_id, attempt)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        reading = Reading(config, source, export, file_id)  # (a name's time may be refused)
        tables = _stage(reading, staging)
    except SourceError as error:
        shutil.rmtree(staging, ignore_errors=True)
        result.message = str(error) if str(error).startswith(name) else f"{name}: {error}"
        return result
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if reading.raw is not None:
        result.encoding, result.delimiter = reading.raw.encoding, reading.raw.delimiter
    if reading.rows_total == 0:
        shutil.rmtree(staging, ignore_errors=True)
        result.status, result.message = "empty", "no records (empty or header only)"
        return result
    staging.mkdir(parents=True, exist_ok=True)  # (history records may add no rows at all)
    result.status, result.message = "loaded", reading.message()
    result.rows_total, result.rows_accepted = reading.rows_total, reading.rows_accepted
    result.rows_rejected = reading.rows_rejected
    result.staged = staging.relative_to(config.landing_dir).as_posix()
    result.tables = tuple(sorted(tables))
    return result


def _stage(reading: Reading, staging: Path) -> set[str]:
    """Write the file's rows as parts under `staging`; returns the tables written. A batched
    file is written batch by batch (one part per batch, written while the next batch is
    normalized), a deals file's snapshot time
    stamped on its parts after the last (unless its name states it: then its batches carry
    it already); a file read whole (one batch) is written once, its snapshot time already
    on its rows."""
    tables: set[str] = set()
    whole: list[dict[str, pl.DataFrame]] = []  # a file read whole: its one batch
    # A batch's parts are written in a second thread while this one normalizes the next
    # batch (polars releases the GIL): one write at a time, each waited for before the
    # next is handed over and before returning (or raising: nothing is written after).
    with ThreadPoolExecutor(1) as writer:
        pending: Future[set[str]] | None = None
        try:
            for number, batch in enumerate(reading.batches()):
                if not reading.export.batched:
                    whole.append(batch)
                    continue
                if pending is not None:
                    tables |= pending.result()
                pending = writer.submit(_write, staging, reading.file_id, batch, number)
                del batch
            if pending is not None:
                tables |= pending.result()
                pending = None
        finally:
            if pending is not None:
                with contextlib.suppress(Exception):
                    pending.result()  # a failed read: its last write finishes first
    snapshot = reading.snapshot
    for batch in whole:
        stamped = with_snapshot(batch, snapshot.at) if snapshot is not None else batch
        tables |= _write(staging, reading.file_id, stamped, None)
    stamped = reading.named_snapshot is not None  # every batch carries it already
    if snapshot is not None and reading.export.batched and not stamped:
        for table in SNAPSHOT_TABLES:
            io.set_file_column(staging, table, reading.file_id, "snapshot_at", snapshot.at)
    return tables


def _write(
    staging: Path, file_id: str, batch: dict[str, pl.DataFrame], number: int | None
) -> set[str]:
    """One batch's non-empty tables as parts (`number`: the batch's, None for a whole file)."""
    written = {table for table, rows in batch.items() if rows.height}
    for table in sorted(written):
        io.write_part(staging, table, file_id, batch[table], batch=number)
    return written
