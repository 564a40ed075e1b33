"""CRM deals: raw string frame (canonical column names) → crm_deals, crm_deal_phones,
crm_deal_attributes and rejects.

Input columns: deal_id, created_at, stage (required); crm_pipeline, status, manager,
lead_source, amount, currency, closed_at, lost_reason, client_phone, modified_at
(optional); any `attr:<name>` column becomes attribute rows. A phone that is not a phone
drops that phone only (counted in the notes), never the deal. A deals export that also
writes when each stage was entered (HubSpot's `Date entered "<stage> (<pipeline>)"`, the
generic preset's `stage_dates:`) gives columns `stage_date:<n>:<stage>`: one exact
crm_stage_events row per filled date (`events`); a blank cell adds nothing, a date that
does not parse rejects the row.

snapshot_at is a property of the whole file, known only once every row is read (rule:
`transform.snapshots`): the rows come out with it NULL, the latest times they state in
`times`, and `with_snapshot` stamps the file's value on them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import polars as pl

from pipeline import schemas
from pipeline.config import normalize_person_name
from pipeline.transform.context import NormalizeContext
from pipeline.transform.history import STAGE_DATE_PREFIX
from pipeline.transform.numbers import expected_amount, parse_amounts
from pipeline.transform.people import map_managers
from pipeline.transform.phones import hash_phone_column, split_phones_column
from pipeline.transform.rejects import Check, required, split_rejects
from pipeline.transform.snapshots import RowTimes
from pipeline.transform.times import parse_times, too_late

ATTRIBUTE_PREFIX = "attr:"
DEAL_COLUMNS = (
    "deal_id",
    "created_at",
    "crm_pipeline",
    "stage",
    "status",
    "manager",
    "lead_source",
    "amount",
    "currency",
    "closed_at",
    "lost_reason",
    "client_phone",
    "modified_at",  # read for the snapshot time only (transform.snapshots), not landed
)
# The landing tables of a deals file whose rows carry the file's snapshot_at.
SNAPSHOT_TABLES = ("crm_deals", "crm_deal_phones", "crm_deal_attributes")
REQUIRED_DEAL_COLUMNS = ("deal_id", "created_at", "stage")
# A status column's words for a deal the CRM deleted (Pipedrive's `deleted`): such a row is
# read and left out, counted in the notes, as the CRM's own reports leave it out.
DELETED = "deleted"
DELETED_WORDS = frozenset({"deleted", "удалена", "удалено", "удалён", "удален"})
_NO_SNAPSHOT = pl.lit(None, dtype=schemas.UTC_TIME)  # set for the whole file: with_snapshot


@dataclass
class DealsResult:
    deals: pl.DataFrame
    phones: pl.DataFrame
    attributes: pl.DataFrame
    rejects: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    events: pl.DataFrame = field(default_factory=lambda: schemas.empty("crm_stage_events"))
    times: RowTimes = field(default_factory=RowTimes)  # the latest times the rows state
    left_out: int = 0  # rows read and accepted that land nothing (deleted deals)

    @property
    def accepted_rows(self) -> int:
        return self.deals.height + self.left_out


def normalize_deals(raw: pl.DataFrame, ctx: NormalizeContext) -> DealsResult:
    frame = _with_optional(raw, DEAL_COLUMNS)
    frame = frame.with_columns(_status=_status_column(frame, ctx))
    left_out = frame.filter(pl.col("_status") == DELETED).height
    if left_out:
        frame = frame.filter(pl.col("_status") != DELETED)
    created, created_problem = parse_times(frame["created_at"], ctx.times)
    # An open deal's close date is a plan (often years ahead): only a closed deal's close
    # date must lie before the file's snapshot and within the plausible years.
    planned = replace(ctx.times, not_after=None, max_year=None)
    closed, closed_problem = parse_times(frame["closed_at"], planned)
    modified, modified_problem = parse_times(frame["modified_at"], ctx.times)
    amount, amount_problem, marked_currency = parse_amounts(
        frame["amount"], ctx.decimal, ctx.decimal_fallback
    )
    frame = frame.with_columns(
        _created=created,
        _created_problem=created_problem,
        _closed=closed,
        _closed_problem=closed_problem,
        _modified=modified,
        _modified_problem=modified_problem,
        _amount=amount,
        _amount_problem=amount_problem,
        _marked_currency=marked_currency,
    )
    closed_late = too_late("closed_at", "_closed", ctx.times)
    if closed_late is not None:
        closed_late = pl.when(pl.col("_status") != "open").then(closed_late)
        frame = frame.with_columns(_closed_problem=pl.coalesce("_closed_problem", closed_late))
    checks = [
        Check(ctx.label("deal_id"), "a deal id", required("deal_id", "deal id")),
        Check(
            ctx.label("created_at"), ctx.times.expected(), required("created_at", "creation date")
        ),
        Check(ctx.label("created_at"), ctx.times.expected(), pl.col("_created_problem")),
        Check(ctx.label("stage"), "a stage name", required("stage", "stage")),
        Check(ctx.label("closed_at"), ctx.times.expected(), pl.col("_closed_problem")),
        Check(ctx.label("modified_at"), ctx.times.expected(), pl.col("_modified_problem")),
        Check(ctx.label("amount"), expected_amount(ctx.decimal), pl.col("_amount_problem")),
    ]
    frame, date_checks = _parse_stage_dates(frame, ctx)
    accepted, rejects = split_rejects(frame, checks + date_checks)
    accepted = accepted.with_columns(
        deal_id=pl.col("deal_id").str.strip_chars(),
        stage=pl.col("stage").str.strip_chars(),
    )
    deals = accepted.select(
        source=pl.lit(ctx.source),
        deal_id="deal_id",
        crm_pipeline=_trimmed("crm_pipeline"),
        stage="stage",
        status="_status",
        created_at="_created",
        closed_at="_closed",
        manager=map_managers(_trimmed_series(accepted, "manager"), ctx.manager_aliases),
        lead_source=_trimmed("lead_source"),
        amount="_amount",
        currency=pl.coalesce(_trimmed("currency"), pl.col("_marked_currency")),
        lost_reason=_trimmed("lost_reason"),
        snapshot_at=_NO_SNAPSHOT,
        file_id=pl.lit(ctx.file_id),
    )
    phones, bad_phones = _phones(accepted, ctx)
    notes = [f"{bad_phones} phone value(s) not understood and dropped"] if bad_phones else []
    if left_out:
        notes.append(
            f"{left_out} deal(s) with '{ctx.label('status')}' deleted: left out, as the CRM's "
            "own reports leave them out"
        )
    # A mapped pipeline column left empty (a merged cell of a workbook): such a deal belongs
    # to no funnel that names a pipeline, which only this note says.
    no_pipeline = deals["crm_pipeline"].null_count() if "crm_pipeline" in ctx.labels else 0
    if no_pipeline:
        notes.append(
            f"{no_pipeline} deal(s) with an empty '{ctx.label('crm_pipeline')}': no funnel "
            "that names a pipeline counts them"
        )
    return DealsResult(
        deals=schemas.conform(deals, "crm_deals"),
        phones=phones,
        attributes=_attributes(accepted, ctx),
        rejects=rejects,
        notes=notes,
        events=_stage_date_events(accepted, deals, ctx),
        times=_row_times(accepted, deals),
        left_out=left_out,
    )


def with_snapshot(
    tables: dict[str, pl.DataFrame], at: dt.datetime | None
) -> dict[str, pl.DataFrame]:
    """A deals file's landing tables with its snapshot time on every row that carries one."""
    stamp = pl.lit(at, dtype=schemas.UTC_TIME).alias("snapshot_at")
    return {
        table: rows.with_columns(stamp) if table in SNAPSHOT_TABLES else rows
        for table, rows in tables.items()
    }


def _row_times(accepted: pl.DataFrame, deals: pl.DataFrame) -> RowTimes:
    """The latest modified-at value, and the latest of every time the rows state. An open
    deal's closed_at is left out: vendors write the planned close date there."""
    closed = deals.filter(pl.col("status") != "open")["closed_at"]
    stage_dates = [accepted[f"_at:{c}"] for c in _stage_date_columns(accepted)]
    candidates = [deals["created_at"], closed, accepted["_modified"], *stage_dates]
    found = [value for series in candidates if (value := series.max()) is not None]
    return RowTimes(modified=accepted["_modified"].max(), latest=max(found, default=None))


def _stage_date_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(STAGE_DATE_PREFIX)]


def _parse_stage_dates(frame: pl.DataFrame, ctx: NormalizeContext) -> tuple[pl.DataFrame, list]:
    checks = []
    for column in _stage_date_columns(frame):
        parsed, problem = parse_times(frame[column], ctx.times)
        frame = frame.with_columns(parsed.alias(f"_at:{column}"), problem.alias(f"_bad:{column}"))
        checks.append(Check(ctx.label(column), ctx.times.expected(), pl.col(f"_bad:{column}")))
    return frame, checks


def _stage_date_events(
    accepted: pl.DataFrame, deals: pl.DataFrame, ctx: NormalizeContext
) -> pl.DataFrame:
    """One exact entry per filled `stage_date:<n>:<stage>` cell, with the deal's manager."""
    columns = _stage_date_columns(accepted)
    if not columns:
        return schemas.empty("crm_stage_events")
    parts = [
        accepted.select(
            deal_id="deal_id",
            stage=pl.lit(column.removeprefix(STAGE_DATE_PREFIX).split(":", 1)[-1]),
            entered_at=pl.col(f"_at:{column}"),
            manager=deals["manager"],
        ).drop_nulls("entered_at")
        for column in columns
    ]
    events = pl.concat(parts).unique(["deal_id", "stage", "entered_at"], maintain_order=True)
    events = events.with_columns(
        source=pl.lit(ctx.source),
        entered_after=pl.lit(None, dtype=schemas.UTC_TIME),
        is_exact=pl.lit(True),
        file_id=pl.lit(ctx.file_id),
    )
    return schemas.conform(events, "crm_stage_events")


def _with_optional(raw: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in columns if c not in raw.columns]
    return raw.with_columns(missing) if missing else raw


def _trimmed(column: str) -> pl.Expr:
    """The column's text stripped, an empty value null (one strip: an expression written
    twice is evaluated twice)."""
    return pl.col(column).str.strip_chars().replace("", None).alias(column)


def _trimmed_series(frame: pl.DataFrame, column: str) -> pl.Series:
    return frame.select(_trimmed(column))[column]


def status_of(value: str | None, won: tuple[str, ...], lost: tuple[str, ...]) -> str:
    """A status or stage name → open/won/lost (configured names, or the words themselves)."""
    if value is None:
        return "open"
    key = normalize_person_name(value)
    if key in {normalize_person_name(v) for v in won} or key == "won":
        return "won"
    if key in {normalize_person_name(v) for v in lost} or key == "lost":
        return "lost"
    return "open"


def _status_column(frame: pl.DataFrame, ctx: NormalizeContext) -> pl.Series:
    """open/won/lost, or DELETED where a status column says so (a stage is never "deleted")."""
    has_status = "status" in ctx.labels

    def status(value: str) -> str:
        if has_status and normalize_person_name(value) in DELETED_WORDS:
            return DELETED
        return status_of(value, ctx.won, ctx.lost)

    values = _trimmed_series(frame, "status" if has_status else "stage")
    table = {v: status(v) for v in values.drop_nulls().unique().to_list()}
    return values.replace_strict(table, default="open", return_dtype=pl.String)


def _phones(frame: pl.DataFrame, ctx: NormalizeContext) -> tuple[pl.DataFrame, int]:
    cells = frame.select("deal_id", "client_phone").drop_nulls("client_phone")
    split, bad = split_phones_column(cells["client_phone"], ctx.phones)
    phones = cells.with_columns(client_phone=split).explode("client_phone")
    phones = phones.drop_nulls("client_phone")
    if cells["deal_id"].n_unique() < cells.height:  # (a cell's phones come each once)
        phones = phones.unique(["deal_id", "client_phone"], maintain_order=True)
    phones = phones.with_columns(
        client_phone_hash=hash_phone_column(phones["client_phone"], ctx.phone_hash_key),
        source=pl.lit(ctx.source),
        snapshot_at=_NO_SNAPSHOT,
        file_id=pl.lit(ctx.file_id),
    )
    return schemas.conform(phones, "crm_deal_phones"), bad


def _attributes(frame: pl.DataFrame, ctx: NormalizeContext) -> pl.DataFrame:
    parts = [
        frame.select(
            "deal_id",
            name=pl.lit(column.removeprefix(ATTRIBUTE_PREFIX)),
            value=_trimmed(column),
        )
        for column in frame.columns
        if column.startswith(ATTRIBUTE_PREFIX)
    ]
    if not parts:
        return schemas.empty("crm_deal_attributes")
    attributes = pl.concat(parts).drop_nulls("value")
    attributes = attributes.with_columns(
        source=pl.lit(ctx.source),
        snapshot_at=_NO_SNAPSHOT,
        file_id=pl.lit(ctx.file_id),
    )
    return schemas.conform(attributes, "crm_deal_attributes")
