"""The `asterisk` preset: cdr-csv `Master.csv` (no header, 16/17/18 quoted fields).

Voronka's conventions: a call is inbound when `dcontext` is a trunk context (client in
`src`, the dialled line in `dst`, the agent in `dstchannel`); outbound when `src` is an
extension and `dst` an outside number (client in `dst`, agent in `channel`, the line =
`accountcode` when it is a phone); internal when both ends are extensions (or `dst` is a
feature code). Outside any trunk context, a caller that is a phone is taken as inbound.
The manager is the extension alias `ext:<n>`. call_id is `uniqueid`; a 17th field that is
no uniqueid (`1714800000.123`, or with the system name before it) is the `userfield` of a
log written with `loguserfield` alone (`sales`). Without a uniqueid, a call is its channel and start
(a ring group's legs share both: one call, the answered leg wins), else the sha256 of the
record's text. A record with another field count is rejected here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import polars as pl

from pipeline.config import Source
from pipeline.sources import fastcsv, presets
from pipeline.sources.errors import LayoutError
from pipeline.sources.raw import Export, RawFile, rejects_frame
from pipeline.transform.phones import (
    E164_PREFIX,
    PLANS,
    RUSSIA,
    NumberingPlan,
    normalize_phone_column,
    normalize_phone_few,
)
from pipeline.transform.rejects import RAW, ROW

FIELDS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
)
WIDTHS = (16, 17, 18)
# The fields canonical_calls reads (the others are only kept in the record's raw text).
_USED = ("accountcode", "src", "dst", "dcontext", "channel", "dstchannel", "start", "answer",
         "end", "billsec", "disposition", "uniqueid")  # fmt: skip
INBOUND_CONTEXTS = ("from-trunk", "from-pstn", "from-did-direct", "ext-did")
DISPOSITIONS = {
    "ANSWERED": "answered",
    "NO ANSWER": "no_answer",
    "NOANSWER": "no_answer",
    "BUSY": "busy",
    "FAILED": "failed",
    "CONGESTION": "failed",
}
EXTENSION = r"^\d{2,5}$"
# A uniqueid ends in digits, a dot and digits: the channel's creation time and a sequence
# (`1714800000.123`), after the system name when one is set (`pbx1-1714800000.123`). A
# userfield is free text (`sales`).
UNIQUEID = r"^\S*\d\.\d+$"
CHANNEL_EXTENSION = r"^[A-Za-z0-9_]+/(\d{2,5})(?:[-@;/]|$)"
LABELS = {
    "call_id": "uniqueid",
    "direction": "dcontext/src/dst",
    "started_at": "start",
    "answered_at": "answer",
    "ended_at": "end",
    "talk_s": "billsec",
    "disposition": "disposition",
    "client_phone": "src/dst",
    "line": "dst/accountcode",
}
EXPECTED = {
    "disposition": "ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION",
    "direction": "a trunk dcontext (from-trunk, from-pstn, from-did-direct, ext-did) or an "
    "extension (2–5 digits) in src",
}


def refuse_header(first: list[str] | None, name: str, source: Source) -> None:
    """Master.csv has no header row: a first line of column names is another call log."""
    if not presets.looks_like_header(first):
        return
    cells = first or []
    shown = ", ".join(repr(cell) for cell in cells[:4]) + (", …" if len(cells) > 4 else "")
    raise LayoutError(
        f"{name}: {presets.where(source, 'asterisk')} expects Asterisk's cdr-csv Master.csv, "
        f"which has no header row ({', '.join(FIELDS[:4])}, … in 16, 17 or 18 fields); this "
        f"file starts with a header row: {shown}. A call log with a header row reads with "
        "preset generic and its column names: columns: {started_at: …, caller: …, callee: …, "
        "talk_s: …}."
    )


def read(export: Export, source: Source) -> Iterator[RawFile]:
    """Master.csv, batch by batch: polars parses the well-formed records (fastcsv), the
    csv module the rest; a record of another width is rejected with the count it has."""
    records = fastcsv.Records(export, source.formats.encoding)
    delimiter = "," if source.formats.delimiter == "auto" else source.formats.delimiter
    head = fastcsv.first_record(records.head_text, delimiter)
    refuse_header(head.fields if head else None, export.name, source)
    widths: set[int] = set()  # the record widths seen, for `check`
    for batch in records.batches(delimiter, len(FIELDS)):
        frame, rejects = _read_batch(batch.frame, widths, PLANS[source.phone_country])
        yield RawFile(
            frame=frame,
            rejects=rejects,
            rows_total=batch.frame.height,
            encoding=records.encoding,
            delimiter=delimiter,
            columns_found=[f"{w} fields: {', '.join(FIELDS[:w])}" for w in sorted(widths)],
            labels=LABELS,
            expected=EXPECTED,
            plain=batch.plain,
        )


def _read_batch(
    records: pl.DataFrame, widths: set[int], plan: NumberingPlan
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records (f0…, _width, _row, _raw, _error) → canonical call columns + rejects."""
    ok = pl.col("_error").is_null() & pl.col("_width").is_in(WIDTHS)
    bad = records.filter(~ok)
    good = records.filter(ok)
    widths.update(good["_width"].unique().to_list())
    good = good.select(
        *[pl.col(f"f{i}").fill_null("").alias(name) for i, name in enumerate(FIELDS)],
        pl.col("_row").alias(ROW),
        pl.col("_raw").alias(RAW),
    )
    rejects = [
        (
            row,
            "(record)",
            "16, 17 or 18 fields",
            raw,
            error or f"the record has {width} fields; Asterisk cdr-csv writes 16, 17 or 18",
        )
        for row, raw, error, width in bad.select("_row", "_raw", "_error", "_width").iter_rows()
    ]
    return canonical_calls(good, plan), rejects_frame(rejects)


def canonical_calls(frame: pl.DataFrame, plan: NumberingPlan = RUSSIA) -> pl.DataFrame:
    """Asterisk fields (strings) → canonical call columns (still strings); numbers without
    `+` read by `plan`."""
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in _USED)
    frame = frame.with_columns(
        _src_phone=normalize_phone_column(frame["src"], plan),
        _dst_phone=normalize_phone_column(frame["dst"], plan),
    )
    frame = frame.with_columns(_src_ext=pl.col("src").str.contains(EXTENSION))
    src_ext = pl.col("_src_ext")
    dst_ext = pl.col("dst").str.contains(EXTENSION)
    direction = (
        pl.when(pl.col("dcontext").is_in(INBOUND_CONTEXTS))
        .then(pl.lit("inbound"))
        .when(src_ext & pl.col("_dst_phone").is_not_null() & ~dst_ext)
        .then(pl.lit("outbound"))
        .when(src_ext)
        .then(pl.lit("internal"))
        .when(pl.col("_src_phone").is_not_null())
        .then(pl.lit("inbound"))
    )
    frame = frame.with_columns(direction=direction)
    inbound = pl.col("direction") == "inbound"
    outbound = pl.col("direction") == "outbound"
    # The agent's channel: dstchannel of an inbound call, channel of any other (one
    # extraction over the column instead of one per channel column).
    channel = pl.when(inbound).then(pl.col("dstchannel")).otherwise(pl.col("channel"))
    extension = channel.str.extract(CHANNEL_EXTENSION, 1)
    agent = (
        pl.when(inbound)
        .then(extension)
        .otherwise(pl.coalesce(extension, pl.when(src_ext).then(pl.col("src"))))
    )
    return frame.select(
        call_id=_call_ids(frame),
        direction="direction",
        line=pl.when(inbound).then("dst").when(outbound).then("accountcode"),
        client_phone=pl.when(inbound).then("src").when(outbound).then("dst"),
        **{  # the phones normalised above, for normalize_calls
            E164_PREFIX + "line": pl.when(inbound)
            .then("_dst_phone")
            .when(outbound)
            .then(normalize_phone_few(frame["accountcode"], plan)),
            E164_PREFIX + "client_phone": pl.when(inbound)
            .then("_src_phone")
            .when(outbound)
            .then("_dst_phone"),
        },
        started_at="start",
        answered_at="answer",
        ended_at="end",
        manager=pl.format("ext:{}", agent),
        talk_s="billsec",
        disposition=pl.col("disposition")
        .str.to_uppercase()
        .replace_strict(DISPOSITIONS, default=pl.col("disposition"), return_dtype=pl.String),
        _row="_row",
        _raw="_raw",
    )


def _call_ids(frame: pl.DataFrame) -> pl.Series:
    """`uniqueid`; without one (empty, or a 17th field of another shape: the userfield of
    a log written with `loguserfield` alone), the sha256 of the channel and start (a ring
    group's legs: one call), or of the record's text when the channel is empty; computed
    only there."""
    ids = frame["uniqueid"].cast(pl.String).alias("call_id")
    missing = (ids.is_null() | ~ids.str.contains(UNIQUEID)).arg_true()
    if missing.len() == 0:
        return ids
    rows = frame.select("channel", "start", RAW)[missing].iter_rows()
    keys = [f"{channel}\t{start}" if channel else raw for channel, start, raw in rows]
    hashes = [hashlib.sha256(key.encode("utf-8")).hexdigest() for key in keys]
    return ids.clone().scatter(missing, pl.Series(hashes, dtype=pl.String))
