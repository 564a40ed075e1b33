"""Plan: the inbox against the ledger — which files to read, in order. Reads files (to
hash them) and writes nothing but the fingerprints it remembers (ingest.fingerprints)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import io
from pipeline.config import Config, Source
from pipeline.ingest.fingerprints import Fingerprints
from pipeline.ingest.read_with import source_digests
from pipeline.ingest.results import FINAL_STATUSES, FileResult, duplicate, incomplete
from pipeline.sources import registry

# A file whose size or mtime changes within this many seconds is still being written.
SETTLE_SECONDS = 0.5
# Files at least this large (of a preset whose reader can) are read in batches, so
# ingest's memory is set by its budget (load.MEMORY_BUDGET_MB), not by the file.
STREAM_MIN_BYTES = 32 * 1024**2


@dataclass(frozen=True)
class PlannedFile:
    """A new inbox file to read (picklable: it may cross process boundaries)."""

    source: str
    preset: str
    path: str  # relative to the inbox
    file_id: str
    streamed: bool = False  # read in batches (a large CSV of a preset that can)
    utf8: str | None = None  # streamed: the encoding the fingerprint pass found, if UTF-8
    signature: tuple[int, int] | None = None  # (size, mtime_ns) when planned
    copy_of: str | None = None  # same bytes as an earlier new file of this run: not read
    again: bool = False  # loaded before with other settings of its source: read again

    @property
    def size(self) -> int:
        """Bytes when planned (0 if unknown)."""
        return self.signature[0] if self.signature else 0

    @property
    def mapping_key(self) -> str:
        return safe_key(self.file_id)


@dataclass
class IngestPlan:
    """Every candidate file of the run, in order: a FileResult settled at planning time
    (`incomplete`, or a `duplicate` of bytes already loaded), or a PlannedFile."""

    items: list[PlannedFile | FileResult] = field(default_factory=list)
    left_as_read: int = 0  # loaded bytes read with other settings, no longer in the inbox

    @property
    def to_load(self) -> list[PlannedFile]:
        return [i for i in self.items if isinstance(i, PlannedFile) and i.copy_of is None]


def safe_key(file_id: str) -> str:
    """A file id as a name for steps and folders (letters, digits, underscores)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", file_id)


def plan_ingest(
    config: Config,
    *,
    settle_seconds: float = SETTLE_SECONDS,
    stream_min_bytes: int = STREAM_MIN_BYTES,
) -> IngestPlan:
    """The inbox against the ledger: which files to read. Hashes the files whose
    fingerprint it does not remember (ingest.fingerprints), writes nothing else. A file
    already in the ledger under the same name with a final status is left out; bytes
    already loaded are a duplicate; two new files with the same bytes are read once (the
    later one is `copy_of` the first). Loaded bytes that the source claiming them now
    would read otherwise (is_stale) are read `again`, once: under their loaded name if it
    is still in the inbox, else under the first name that holds them."""
    landing, inbox = config.landing_dir, config.inbox_dir
    seen, loaded = ledger_state(landing)
    readings = loaded_readings(landing)
    first_with: dict[str, str] = {}  # file_id → the first new file of this run with these bytes
    plan = IngestPlan()
    fingerprints = Fingerprints(config)
    candidates = inbox_files(config)
    unsettled = _unsettled([path for _, path in candidates], settle_seconds)
    names = {path: io.relative_name(inbox, path) for _, path in candidates}
    settled = [path for _, path in candidates if not (io.looks_partial(path) or path in unsettled)]
    found = dict(
        zip(settled, fingerprints.of_all([(names[path], path) for path in settled]), strict=True)
    )
    present = [
        (source, names[path], found[path][0]) for source, path in candidates if path in found
    ]
    read_again_as = _read_again_as(config, present, readings)
    plan.left_as_read = len(_stale_ids(config, readings) - {f for _, _, f in present})
    for source, path in candidates:
        name = names[path]
        if path not in found:
            plan.items.append(incomplete(name, source, "still being written"))
            continue
        signature = io.file_signature(path)
        stream = registry.can_stream(source, name) and signature[0] >= stream_min_bytes
        file_id, utf8 = found[path]
        again = read_again_as.get(file_id) == name
        if (file_id, name) in seen and not again:
            continue
        if file_id in loaded and not again:
            plan.items.append(duplicate(name, source.name, source.preset, file_id, loaded[file_id]))
            continue
        plan.items.append(
            PlannedFile(
                source.name,
                source.preset,
                name,
                file_id,
                streamed=stream,
                utf8=utf8 if stream else None,
                signature=signature,
                copy_of=None if again else first_with.get(file_id),
                again=again,
            )
        )
        first_with.setdefault(file_id, name)
    fingerprints.save()
    return plan


def ledger_state(landing: Path) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """((file_id, path) pairs with a final status, {file_id: path} of loaded bytes)."""
    rows = list(io.read_ledger(landing).iter_rows(named=True))
    seen = {(r["file_id"], r["path"]) for r in rows if r["status"] in FINAL_STATUSES}
    loaded = {r["file_id"]: r["path"] for r in rows if r["status"] == "loaded"}
    return seen, loaded


def loaded_readings(landing: Path) -> dict[str, dict]:
    """file_id → the ledger row of its loaded reading (the latest, if under several names)."""
    ledger = io.read_ledger(landing).filter(status="loaded").sort("received_at")
    return {row["file_id"]: row for row in ledger.iter_rows(named=True)}


def is_stale(reading: dict | None, source: str, digests: dict[str, str]) -> bool:
    """Whether loaded bytes (their ledger row `reading`) would be read otherwise by `source`,
    the source claiming them now: another source (a renamed one), or other settings since
    they were read (`digests`: read_with.source_digests; a row from before the digest was
    kept: NULL)."""
    if reading is None:
        return False
    return reading["source"] != source or reading["read_with"] != digests[source]


def _read_again_as(
    config: Config, present: list[tuple[Source, str, str]], readings: dict[str, dict]
) -> dict[str, str]:
    """file_id → the inbox name to read stale bytes again under: the loaded name where it
    is among `present` (source, name, file_id), else the first name holding them."""
    digests = source_digests(config)
    chosen: dict[str, str] = {}
    for source, name, file_id in present:
        reading = readings.get(file_id)
        first_or_own = file_id not in chosen or (reading and name == reading["path"])
        if first_or_own and is_stale(reading, source.name, digests):
            chosen[file_id] = name
    return chosen


def _stale_ids(config: Config, readings: dict[str, dict]) -> set[str]:
    """The loaded bytes their own source would now read otherwise (a source no longer
    configured reads nothing again)."""
    digests = source_digests(config)
    return {
        file_id
        for file_id, reading in readings.items()
        if reading["source"] in digests and is_stale(reading, reading["source"], digests)
    }


def inbox_files(config: Config) -> list[tuple[Source, Path]]:
    """(source, file) pairs; a file matched by two sources' globs belongs to the first."""
    claimed: set[Path] = set()
    pairs = []
    for source in config.sources:
        for path in io.list_inbox(config.inbox_dir, source.files):
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
