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
from pipeline.ingest.read_with import reading_digest
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
    later one is `copy_of` the first). A loaded file whose source's settings changed since
    it was read is read `again` (read_with_other_settings)."""
    landing, inbox = config.landing_dir, config.inbox_dir
    seen, loaded = ledger_state(landing)
    stale = read_with_other_settings(config)
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
    for source, path in candidates:
        name = names[path]
        if path not in found:
            plan.items.append(incomplete(name, source, "still being written"))
            continue
        signature = io.file_signature(path)
        stream = registry.can_stream(source, name) and signature[0] >= stream_min_bytes
        file_id, utf8 = found[path]
        again = (file_id, name) in stale
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


def read_with_other_settings(config: Config) -> dict[tuple[str, str], dict]:
    """(file_id, path) → ledger row of each loaded file whose source's settings changed
    since it was read (ingest.read_with; a ledger row from before the digest was kept
    counts as changed). A file of a source no longer configured is left as it is."""
    digests = {source.name: reading_digest(config, source) for source in config.sources}
    ledger = io.read_ledger(config.landing_dir).filter(status="loaded")
    return {
        (row["file_id"], row["path"]): row
        for row in ledger.iter_rows(named=True)
        if row["source"] in digests and row["read_with"] != digests[row["source"]]
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
