"""Delimited text read in bounded batches: polars parses the well-formed bulk, the careful
record parser (text.parse_records) reads only the batches that need it.

A file is read in byte batches cut at a line end outside quotes (quote parity), so no
record spans two batches and memory is set by the batch size, not the file size. A
batch takes the fast path when every line is one complete, well-formed record
(RFC 4180 quoting, checked by a regex per line), no line is blank, and line ends are
`\\n` or `\\r\\n`; then polars' CSV reader gives the fields (identical to the csv
module's for such lines) and the line itself is the record's `raw`. Any other batch
(a truncated last line, an unterminated quote, a lone `\\r`, blank lines, fields quoted
oddly) is read by `parse_records`, exactly as before. Record numbers run over the file.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.sources.errors import SourceError
from pipeline.sources.text import Record, parse_records, split_lines

CHUNK = 8 * 1024 * 1024
_SENTINEL = "\x01"


@dataclass
class Batch:
    """Records of one batch: `fields` (one String column per field position, `f0…`),
    `widths` (field count per record), `_row` (1-based over the file), `_raw`."""

    frame: pl.DataFrame  # f0 … f<width-1>, _width, _row, _raw
    fast: bool


def fingerprint(path: Path) -> tuple[str, str | None]:
    """(sha256 of the bytes, the first encoding among utf-8-sig/utf-8 that decodes
    the whole file strictly, else None) in one streaming pass."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid, bom = True, None
    with Path(path).open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if bom is None:
                bom = chunk.startswith(codecs.BOM_UTF8)
            digest.update(chunk)
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    encoding = ("utf-8-sig" if bom else "utf-8") if valid else None
    return digest.hexdigest(), encoding


def resolve_encoding(path: Path, configured: str, utf8: str | None) -> str:
    """The encoding to read with, by text.decode's rules (auto: BOM, utf-8, cp1251)."""
    if configured != "auto":
        return configured
    if utf8:
        return utf8
    with Path(path).open("rb") as handle:  # cp1251 fails strictly only on byte 0x98
        while chunk := handle.read(CHUNK):
            if b"\x98" in chunk:
                raise SourceError(
                    "encoding is none of utf-8, utf-8 with BOM, cp1251 (strict decoding failed)"
                )
    return "cp1251"


def text_batches(path: Path, encoding: str, batch_bytes: int) -> Iterator[str]:
    """Decoded text in pieces of ~batch_bytes, each ending at a line end outside quotes."""
    carry = b""
    first = True
    with Path(path).open("rb") as handle:
        while True:
            chunk = handle.read(batch_bytes)
            data = carry + chunk
            if not chunk:
                if data:
                    yield _decode(data, encoding, first)
                return
            cut = _cut(data)
            if cut is None:  # no safe cut yet (a quoted field spans the chunk): read on
                carry = data
                continue
            piece, carry = data[:cut], data[cut:]
            yield _decode(piece, encoding, first)
            first = False


def _cut(data: bytes) -> int | None:
    """End of the last line in data whose prefix holds an even number of quotes (every
    piece yielded before holds an even number, so parity restarts at each piece)."""
    position = data.rfind(b"\n")
    while position != -1:
        if data.count(b'"', 0, position) % 2 == 0:
            return position + 1
        position = data.rfind(b"\n", 0, position)
    return None


def _decode(data: bytes, encoding: str, first: bool) -> str:
    """A BOM is dropped from the first batch only (utf-8-sig), as text.decode does."""
    if encoding == "utf-8-sig" and not first:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(f"not valid {encoding}: {error}") from None


def header_text(path: Path, encoding: str, peek_bytes: int = 1 << 20) -> str:
    """The first ~MB of a file, decoded (for the delimiter sniff and the header)."""
    with Path(path).open("rb") as handle:
        data = handle.read(peek_bytes)
    return data.decode(encoding, errors="ignore")


def first_record(text: str, delimiter: str) -> Record | None:
    """A file's first record (its header), or None when the file has no record."""
    records = parse_records(split_lines(text)[:50], delimiter)
    return records[0] if records else None


def _record_pattern(delimiter: str) -> str:
    d = "\\t" if delimiter == "\t" else "\\" + delimiter
    field = rf'(?:"(?:[^"]|"")*"|[^"{d}\r\n]*)'
    return rf"^{field}(?:{d}{field})*$"


def parse_batch(text: str, delimiter: str, max_width: int, first_row: int) -> Batch:
    """One batch → records (blank and all-empty records skipped, as parse_records does)."""
    fast = _fast_batch(text, delimiter, max_width, first_row)
    if fast is not None:
        return Batch(fast, True)
    records = parse_records(split_lines(text), delimiter)
    return Batch(records_batch(records, first_row, max_width), False)


def records_batch(records: list[Record], first_row: int, max_width: int) -> pl.DataFrame:
    width = max([max_width, *(len(r.fields) for r in records if r.fields)])
    columns: dict[str, list] = {f"f{i}": [] for i in range(width)}
    for record in records:
        fields = record.fields or []
        for i in range(width):
            columns[f"f{i}"].append(fields[i] if i < len(fields) else None)
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_columns(
        _width=pl.Series(
            [len(r.fields) if r.fields is not None else -1 for r in records], dtype=pl.Int64
        ),
        _row=pl.Series([first_row + r.number - 1 for r in records], dtype=pl.Int64),
        _raw=pl.Series([r.raw for r in records], dtype=pl.String),
        _error=pl.Series([r.error for r in records], dtype=pl.String),
    )


def _fast_batch(text: str, delimiter: str, max_width: int, first_row: int) -> pl.DataFrame | None:
    if not text or "\x01" in text:
        return None
    if text.count("\r") != text.count("\r\n"):
        return None  # a lone \r ends a line for the csv module, not for polars
    data = text.encode("utf-8")
    lines = pl.read_csv(
        data, has_header=False, separator="\x1f", quote_char=None, schema={"line": pl.String}
    )["line"]
    expected = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines.len() != expected or lines.null_count() or "\x1f" in text:
        return None
    if not lines.str.contains(_record_pattern(delimiter)).all():
        return None
    # Field counts: a sentinel field after each line; its column is the count.
    width = max_width + 2
    eol = "\r\n" if "\r\n" in text else "\n"
    marked = text.replace(eol, f"{delimiter}{_SENTINEL}{eol}")
    if not text.endswith("\n"):
        marked += delimiter + _SENTINEL
    head = delimiter * (width - 1) + "\n"
    names = [f"f{i}" for i in range(width)]
    frame = pl.read_csv(
        (head + marked).encode("utf-8"),
        has_header=False,
        separator=delimiter,
        quote_char='"',
        infer_schema=False,
        truncate_ragged_lines=True,
        empty_string_is_null=False,
        new_columns=names,
    ).slice(1)
    if frame.height != lines.len():
        return None
    count = pl.lit(None, dtype=pl.Int64)
    for i in reversed(range(1, width)):
        count = (
            pl.when(pl.col(f"f{i}") == _SENTINEL).then(pl.lit(i, dtype=pl.Int64)).otherwise(count)
        )
    frame = frame.with_columns(_width=count, _raw=lines)
    too_wide = frame.filter(pl.col("_width").is_null())
    if too_wide.height:  # beyond max_width + 1 fields: count them exactly
        widths = {
            raw: len(parse_records([raw], delimiter)[0].fields or [])
            for raw in too_wide["_raw"].to_list()
        }
        frame = frame.with_columns(
            _width=pl.coalesce("_width", pl.col("_raw").replace_strict(widths, default=None,
                                                                       return_dtype=pl.Int64))
        )  # fmt: skip
    # Blank-looking records (every field empty or spaces) are no records, as in parse_records.
    blank = pl.all_horizontal([pl.col(n).str.strip_chars().is_in(["", _SENTINEL]) for n in names])
    frame = frame.filter(~blank)
    frame = frame.with_columns(
        [pl.when(pl.col("_width") > i).then(pl.col(f"f{i}")).alias(f"f{i}") for i in range(width)]
    )
    return frame.select(
        *names[:max_width],
        "_width",
        _row=pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64),
        _raw="_raw",
        _error=pl.lit(None, dtype=pl.String),
    )


def record_batches(
    path: Path, encoding: str, delimiter: str, max_width: int, batch_bytes: int
) -> Iterator[Batch]:
    """Every record of a file, batch by batch, numbered 1… over the file."""
    next_row = 1
    for text in text_batches(path, encoding, batch_bytes):
        batch = parse_batch(text, delimiter, max_width, next_row)
        next_row += batch.frame.height
        yield batch
