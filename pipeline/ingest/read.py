"""Read: one export's batches → the landing rows they add. The one read path of ingest
(load) and `voronka check`.

The source's preset reader yields the file's batches (a file read whole is one batch);
each is cleaned and normalized by its kind (pipeline.transform), and its rejects — the
reader's and the transform's — are counted here and only here: rows_total = accepted +
rejected for every batch, so for the file. A CRM deals file's snapshot time is the whole
file's, from its name or its rows, never the clock (`transform.snapshots`): chosen after
its last batch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from zoneinfo import ZoneInfo

import polars as pl

from pipeline.config import Config, Source
from pipeline.sources import Export, RawFile, SourceError, read_batches
from pipeline.transform.calls import normalize_calls
from pipeline.transform.context import NormalizeContext
from pipeline.transform.deals import normalize_deals, with_snapshot
from pipeline.transform.history import normalize_history
from pipeline.transform.phones import PLANS, mask_phones
from pipeline.transform.rejects import REJECT_SCHEMA
from pipeline.transform.snapshots import (
    FROM_NAME,
    NameTimeError,
    RowTimes,
    Snapshot,
    snapshot_from_name,
    snapshot_of_file,
)
from pipeline.transform.times import TimeFormat
from pipeline.transform.values import bounded_raw, clean_values


@dataclass
class Reading:
    """One export read batch by batch: `batches()` yields each batch's landing tables
    (rejected_rows included; a CRM deals file's snapshot_at NULL, unless its name states it:
    `named_snapshot`); once they are all
    through, the file's counts, notes, snapshot and its last batch (`raw`: the file-level
    facts — encoding, delimiter, columns found, labels)."""

    config: Config
    source: Source
    export: Export
    file_id: str
    raw: RawFile | None = None
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    first_reject: dict | None = None
    notes: list[list[str]] = field(default_factory=list)  # per batch
    times: RowTimes = field(default_factory=RowTimes)  # CRM deals: for the snapshot time
    snapshot: Snapshot | None = None  # CRM deals files: when the export was taken
    # A CRM deals file whose name states its snapshot time (rule 1): known before its rows
    # are read, so every batch comes out stamped with it (None: chosen after the last).
    named_snapshot: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.source.kind == "crm":
            zone = self.config.source_timezone(self.source)
            self.named_snapshot = named_snapshot(PurePath(self.export.name).name, zone)

    def batches(self) -> Iterator[dict[str, pl.DataFrame]]:
        """Raises SourceError (the file cannot be read as its preset's)."""
        ctx = None
        for raw in read_batches(self.export, self.source):
            self.raw = raw
            if raw.rows_total == 0:
                continue
            ctx = ctx or _context(self.config, self.source, raw, self.export.name, self.file_id)
            yield self._normalize(raw, ctx)
        if self.source.kind == "crm" and self.rows_total and self.raw is not None:
            self.snapshot = _snapshot(self.config, self.source, self.export.name, self.times,
                                      self.raw.labels)  # fmt: skip

    def _normalize(self, raw: RawFile, ctx: NormalizeContext) -> dict[str, pl.DataFrame]:
        """One batch → its landing tables; the one place rejects are counted."""
        rows = _normalize_frame(self.source, raw.frame, ctx, plain=raw.plain)
        rejects = (
            pl.concat([raw.rejects.cast(REJECT_SCHEMA), rows.rejects.cast(REJECT_SCHEMA)])
            .sort("row_number")
            .with_columns(file_id=pl.lit(self.file_id))
            .pipe(bounded_raw)
        )
        if rows.accepted + rejects.height != raw.rows_total:  # the contract; a miss is a bug
            raise AssertionError(
                f"{self.export.name}: {raw.rows_total} records but {rows.accepted} accepted "
                f"+ {rejects.height} rejected"
            )
        self.rows_total += raw.rows_total
        self.rows_accepted += rows.accepted
        self.rows_rejected += rejects.height
        if rejects.height and self.first_reject is None:
            self.first_reject = rejects.row(0, named=True)
        self.notes.append(raw.notes + rows.notes)
        self.times = self.times.merge(rows.times)
        tables = {**rows.tables, "rejected_rows": rejects}
        return tables if self.named_snapshot is None else with_snapshot(tables, self.named_snapshot)

    def message(self) -> str:
        """The ledger's message for a read file: counts, first reject, snapshot, notes."""
        parts = [f"{self.rows_accepted} accepted, {self.rows_rejected} rejected"]
        first = self.first_reject
        if first:
            parts.append(
                f"first reject: row {first['row_number']}, column {first['column']!r}: "
                f"{mask_phones(first['reason'])}"
            )
        if self.snapshot is not None:
            parts.append(f"snapshot {self.snapshot.describe()}")
        return "; ".join(parts + merge_notes(self.notes))


@dataclass
class Normalized:
    """One file read whole, normalized in memory: what would be written for it."""

    raw: RawFile  # its one batch
    tables: dict[str, pl.DataFrame]  # landing table → rows (rejected_rows included)
    rows_accepted: int
    rows_rejected: int
    notes: list[str]
    snapshot: Snapshot | None = None  # CRM deals files: when the export was taken


def normalize_file(
    config: Config, source: Source, name: str, data: bytes, file_id: str
) -> Normalized:
    """Bytes of one export → the landing rows it would add. Raises SourceError."""
    reading = Reading(config, source, Export(name, data=data), file_id)
    batches = list(reading.batches())  # one: the file is read whole
    names = dict.fromkeys(table for batch in batches for table in batch)
    tables = {table: pl.concat([b[table] for b in batches if table in b]) for table in names}
    if reading.snapshot is not None:
        tables = with_snapshot(tables, reading.snapshot.at)
    assert reading.raw is not None, "a reader yields at least one batch"
    notes = merge_notes(reading.notes)
    return Normalized(reading.raw, tables, reading.rows_accepted, reading.rows_rejected, notes,
                      reading.snapshot)  # fmt: skip


_COUNTED = re.compile(r"^(\d+) (.*)$")


def merge_notes(batches: list[list[str]]) -> list[str]:
    """Notes of several batches ("<n> <what>") → one note per <what>, counts summed, in the
    order they first came (one batch's notes stay as they are)."""
    merged: dict[str, int | None] = {}  # <what> → summed count, or a note without one: None
    for notes in batches:
        for note in notes:
            match = _COUNTED.match(note)
            if match:
                merged[match[2]] = (merged.get(match[2]) or 0) + int(match[1])
            else:
                merged.setdefault(note, None)
    return [note if n is None else f"{n} {note}" for note, n in merged.items()]


def ingest_day(zone: str) -> dt.date:
    """Today in the source's zone: the day the file is read."""
    return dt.datetime.now(ZoneInfo(zone)).date()


def latest_plausible(config: Config, source: Source, name: str) -> tuple[dt.datetime, str]:
    """The latest instant a file's rows may state (UTC) and what it is: for a deals file
    with a date in its name, that snapshot time plus a day (a_day_later); otherwise the end
    of the day it is read, in the source's zone. Raises SourceError when the name's date is
    itself after that day."""
    zone = config.source_timezone(source)
    today = ingest_day(zone)
    end_of_day = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), ZoneInfo(zone))
    end_of_day = end_of_day.astimezone(dt.UTC)
    why = f"the end of the day it was read ({today.isoformat()}, {zone})"
    named = named_snapshot(PurePath(name).name, zone) if source.kind == "crm" else None
    if named is None:
        return end_of_day, why
    if named > end_of_day:
        raise SourceError(
            f"the date in the file name ({Snapshot(named, FROM_NAME).describe()}) is after "
            f"the day it was read ({today.isoformat()}); rename the file with its export date"
        )
    snapshot = Snapshot(named, FROM_NAME).describe()
    return a_day_later(named, zone), f"the file's snapshot time {snapshot} plus a day"


def named_snapshot(name: str, zone: str) -> dt.datetime | None:
    """snapshot_from_name, its NameTimeError a SourceError (the file fails, saying why)."""
    try:
        return snapshot_from_name(name, zone)
    except NameTimeError as error:
        raise SourceError(str(error)) from None


def a_day_later(moment: dt.datetime, zone: str) -> dt.datetime:
    """The same local time of the next day in `zone`, in UTC: a deals file named with its
    snapshot date holds no time later than that (a bare date means 00:00, and the rows of
    that day come after it). A calendar day, not 24 hours: on a day the clocks go back it
    has 25 hours, and 23:30 of the file's own date is on it."""
    local = moment.astimezone(ZoneInfo(zone))
    return (local + dt.timedelta(days=1)).astimezone(dt.UTC)


@dataclass
class _Rows:
    """Raw rows of one batch, normalized by the source's kind."""

    tables: dict[str, pl.DataFrame]  # landing table → rows (rejected_rows not yet)
    accepted: int
    rejects: pl.DataFrame  # the transform's rejects
    notes: list[str]
    times: RowTimes = field(default_factory=RowTimes)  # CRM deals: for the snapshot time


def _snapshot(
    config: Config, source: Source, name: str, times: RowTimes, labels: dict[str, str]
) -> Snapshot:
    """A CRM deals file's snapshot time, from its name or its rows (never the clock)."""
    zone = config.source_timezone(source)
    return snapshot_of_file(PurePath(name).name, zone, times, labels.get("modified_at"))


def _normalize_frame(
    source: Source, frame: pl.DataFrame, ctx: NormalizeContext, plain: bool = False
) -> _Rows:
    """Raw rows of one batch → landing tables, accepted, rejects, notes (CRM deals: with
    snapshot_at NULL, and the times the rows state to choose it from). Values are cleaned
    and bounded first (transform.values)."""
    frame, too_long, cleaned = clean_values(frame, ctx, plain=plain)
    rows = _normalize_kind(source, frame, ctx)
    if too_long.height:
        rows.rejects = pl.concat([too_long.cast(REJECT_SCHEMA), rows.rejects.cast(REJECT_SCHEMA)])
    rows.notes = cleaned + rows.notes
    return rows


def _normalize_kind(source: Source, frame: pl.DataFrame, ctx: NormalizeContext) -> _Rows:
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
        return _Rows(tables, deals.accepted_rows, deals.rejects, deals.notes, deals.times)
    if source.kind == "crm_history":
        history = normalize_history(frame, ctx)
        tables = {"crm_stage_events": history.events}
        return _Rows(tables, history.accepted_rows, history.rejects, history.notes)
    calls = normalize_calls(frame, ctx)
    return _Rows({"calls": calls.calls}, calls.calls.height, calls.rejects, calls.notes)


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
        decimal_fallback=raw.decimal,
        manager_aliases=config.manager_aliases(),
        phone_hash_key=config.phone_hash_key(),
        phones=PLANS[source.phone_country],
        won=tuple(source.status.won),
        lost=tuple(source.status.lost),
        labels=raw.labels,
        expected=raw.expected,
    )
