"""Sensors: new inbox files, reports amended by late data, and failed runs.

- inbox_sensor: a file that kept its size and mtime since the previous tick (and has no
  .part/.tmp name) is stable; a stable file whose sha256 was not seen before starts an
  ingest + build run (run key = the file's hash). The cursor keeps the last signatures
  and the hashes already requested. The hashes come from the inbox's fingerprints
  (pipeline.ingest.fingerprints, shared with the run's ingest plan): a file is hashed
  once, by whichever looks at it first, until it is written again.
- amended_reports_sensor: after the marts are rebuilt, a month whose report printed
  figures that changed is re-rendered (and re-sent, marked amended).
- failure_record_sensor: a failed run leaves a readable record in delivery.failures_dir
  and is mailed to delivery.operators (pipeline.failures).
The cursor logic (`scan_inbox`) is plain Python, tested without Dagster.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipeline import io
from pipeline.config import Config, load_config
from pipeline.delivery import months_to_amend, printed_digests
from pipeline.failures import (
    FailureRecord,
    error_text,
    month_from_tags,
    now_utc,
    record_failure,
)
from pipeline.ingest.fingerprints import Fingerprints
from pipeline.warehouse import SPARK, dbt_target

Signature = tuple[int, int]  # size in bytes, mtime in ns
SENSOR_INTERVAL_S = 30
STAGE_MONTHLY_KEY = dg.AssetKey(["marts", "funnel_stage_monthly"])


# --- the inbox cursor: plain data and one pure function --------------------------------


@dataclass
class InboxCursor:
    signatures: dict[str, Signature] = field(default_factory=dict)  # last tick's view
    requested: set[str] = field(default_factory=set)  # sha256 of files already sent to ingest

    def dumps(self) -> str:
        return json.dumps(
            {
                "signatures": {name: list(sig) for name, sig in self.signatures.items()},
                "requested": sorted(self.requested),
            },
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | None) -> "InboxCursor":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            signatures={name: tuple(sig) for name, sig in data.get("signatures", {}).items()},
            requested=set(data.get("requested", [])),
        )


@dataclass
class InboxScan:
    new: dict[str, str]  # name → sha256: stable files never requested nor loaded
    waiting: list[str]  # still being written (partial name, or changed since last tick)
    cursor: InboxCursor


def scan_inbox(
    observed: dict[str, Signature],
    cursor: InboxCursor,
    file_hash: Callable[[str], str],
    known: set[str] = frozenset(),
) -> InboxScan:
    """Decide which inbox files to ingest now. `file_hash(name)`: the stable file's sha256
    (the inbox's fingerprints: hashed only when new or written again); `known`: hashes
    already in the landing ledger."""
    new: dict[str, str] = {}
    waiting: list[str] = []
    requested = set(cursor.requested)
    for name in sorted(observed):
        signature = observed[name]
        if io.looks_partial(Path(name)) or cursor.signatures.get(name) != signature:
            waiting.append(name)
            continue
        sha = file_hash(name)
        if sha not in requested and sha not in known:
            new[name] = sha
            requested.add(sha)
    return InboxScan(new, waiting, InboxCursor(dict(observed), requested))


def run_key_for(new: dict[str, str]) -> str:
    """The file's hash; for several files at once, the hash of their sorted hashes."""
    hashes = sorted(set(new.values()))
    return hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest()


def observe_inbox(config: Config) -> dict[str, Path]:
    """Inbox files any configured source would read, by name relative to the inbox."""
    files: dict[str, Path] = {}
    for source in config.sources:
        for path in io.list_inbox(config.inbox_dir, source.files):
            files.setdefault(io.relative_name(config.inbox_dir, path), path)
    # A file still uploading often has a temporary name outside the sources' globs.
    if config.inbox_dir.is_dir():
        for path in config.inbox_dir.rglob("*"):
            if path.is_file() and io.looks_partial(path):
                files.setdefault(io.relative_name(config.inbox_dir, path), path)
    return files


# --- the sensors ------------------------------------------------------------------------


def inbox_sensor(config_path: str, job, partitions: dg.TimeWindowPartitionsDefinition):
    @dg.sensor(
        name="inbox_sensor",
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="New stable inbox files → ingest and rebuild (run key = file sha256).",
    )
    def inbox_sensor(context: dg.SensorEvaluationContext):
        config = load_config(config_path)
        files = observe_inbox(config)
        observed = {name: io.file_signature(path) for name, path in files.items()}
        known = set(io.read_ledger(config.landing_dir)["file_id"].drop_nulls().to_list())
        fingerprints = Fingerprints(config)  # shared with the run's plan: hashed once
        scan = scan_inbox(
            observed,
            InboxCursor.loads(context.cursor),
            lambda name: fingerprints.of(name, files[name])[0],
            known,
        )
        fingerprints.save()
        context.update_cursor(scan.cursor.dumps())
        if scan.waiting:
            context.log.info(f"left for the next tick (still being written): {scan.waiting}")
        if not scan.new:
            return dg.SkipReason("no new stable files in the inbox")
        context.log.info(f"new files: {sorted(scan.new)}")
        return dg.RunRequest(
            run_key=run_key_for(scan.new),
            partition_key=partitions.get_last_partition_key(),
            tags={"voronka/new_files": str(len(scan.new))},
        )

    return inbox_sensor


def amended_reports_sensor(config_path: str, job):
    @dg.asset_sensor(
        asset_key=STAGE_MONTHLY_KEY,
        job=job,
        name="amended_reports_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a rebuild, re-render the reported months whose printed figures changed.",
    )
    def amended_reports_sensor(context: dg.SensorEvaluationContext, asset_event):
        if dbt_target() == SPARK:  # the printed figures come from the DuckDB marts
            yield dg.SkipReason("the warehouse is built on Spark; reports read DuckDB only")
            return
        config = load_config(config_path)
        changed = months_to_amend(config, lambda month: printed_digests(config, month))
        for month, digest in changed.items():
            context.log.info(f"{month}: a printed figure changed; re-rendering (amended)")
            yield dg.RunRequest(
                run_key=f"amend-{month}-{digest[:16]}",
                partition_key=f"{month}-01",
                tags={"voronka/reason": "amended"},
            )

    return amended_reports_sensor


def failure_sensor(config_path: str):
    @dg.run_failure_sensor(
        name="failure_record_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="A failed run → a readable record in failures_dir, mailed to the operators.",
    )
    def failure_record_sensor(context: dg.RunFailureSensorContext):
        config = load_config(config_path)
        record = failure_record(context)
        path, new = record_failure(config, record)
        context.log.info(f"failure record {'written' if new else 'already there'}: {path}")

    return failure_record_sensor


def failure_record(context: dg.RunFailureSensorContext) -> FailureRecord:
    run = context.dagster_run
    steps = context.get_step_failure_events()
    if steps:
        step = steps[0].step_key or "(run)"
        error_info = steps[0].event_specific_data.error
        error = error_text(error_info) if error_info else steps[0].message or ""
    else:
        step, error = "(run)", context.failure_event.message or "the run failed"
    failed_checks = _failed_checks(context.instance, run.run_id)
    if failed_checks:
        error += "\n\nfailed checks:\n" + "\n".join(f"- {line}" for line in failed_checks)
    return FailureRecord(
        run_id=run.run_id,
        job=run.job_name,
        month=month_from_tags(dict(run.tags)),
        step=step,
        error=error,
        failed_at=now_utc(),
    )


def _failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    lines = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        details = {
            key: value.value
            for key, value in evaluation.metadata.items()
            if key not in ("dagster_dbt/manifest",) and len(str(value.value)) < 300
        }
        lines.append(
            f"{evaluation.asset_key.to_user_string()} · {evaluation.check_name}"
            + (f" {details}" if details else "")
        )
    return lines
