"""Check: `voronka check FILE`, a dry run of one export the way ingest would read it
(read.normalize_file), with its text report. Writes nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import polars as pl

from pipeline import io
from pipeline.config import Config, Source
from pipeline.ingest.read import normalize_file
from pipeline.ingest.results import IngestError
from pipeline.sources import SourceError, registry
from pipeline.transform.history import STAGE_DATE_PREFIX
from pipeline.transform.phones import mask_phones


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
    already_loaded: bool = False  # these bytes under this name: ingest skips the file
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
        if self.reject_ratio > self.max_reject_ratio:  # already loaded before the limit fell
            return _too_dirty(self)
        return None

    def render(self) -> str:
        delimiter = {"\t": "tab", None: "(workbook)"}.get(self.delimiter, self.delimiter)
        lines = [
            f"file:       {self.path}",
            f"source:     {self.source} (kind {self.kind}, preset {self.preset})",
        ]
        if self.status != "failed" or self.encoding or self.delimiter:  # a failed read found none
            lines += [
                f"encoding:   {self.encoding or '(workbook)'}",
                f"delimiter:  {delimiter!r}" if self.delimiter else f"delimiter:  {delimiter}",
            ]
        lines.append(f"status:     {self.status}" + (f" — {self.message}" if self.message else ""))
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
                lines.append(f"      {mask_phones(row['raw'])[:160]!r}")
        if self.stages_seen:
            lines.append("stages seen (deals/events):")
            lines += [f"  {stage}: {n}" for stage, n in self.stages_seen.items()]
        verdict = "OK" if self.ok else "would FAIL ingest"
        if self.ok and self.already_loaded:
            verdict = "OK (already loaded as it is: ingest skips it, recording nothing)"
        elif self.ok and self.status == "duplicate":
            verdict = "OK (ingest would record it as a duplicate, loading nothing)"
        lines.append(f"verdict:    {verdict}")
        return "\n".join(lines)


STAGE_TIMES_UNKNOWN = (
    "unknown from one export without history — send weekly exports or a stage-history file"
)


def has_in_file_history(source: Source) -> bool:
    """Whether a CRM source's deals files write their own exact stage entries (a preset
    with in-file history, such as HubSpot's, or `stage_dates:`)."""
    return registry.preset_of(source).in_file_history or bool(source.stage_dates)


def has_no_history(config: Config, source: Source) -> bool:
    """A deals source whose stage times one export cannot tell: no history source points at
    it, and its files write no stage entries (no stage_dates, no in-file history)."""
    told = [s.history_of for s in config.sources if s.kind == "crm_history"]
    in_file = has_in_file_history(source)
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
    if already == name:
        report.already_loaded = True
        report.message = "these bytes are already loaded under this name"
    elif already:
        report.status, report.message = "duplicate", f"these bytes are already loaded as {already}"
    elif report.reject_ratio > report.max_reject_ratio:  # ingest records it failed
        report.status, report.message = "failed", _too_dirty(report)
    return report


def _too_dirty(report: CheckReport) -> str:
    return (
        f"{report.reject_ratio:.1%} of rows rejected ({report.rows_rejected} of "
        f"{report.rows_total}), above quality.max_reject_ratio {report.max_reject_ratio:.1%}"
    )


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
