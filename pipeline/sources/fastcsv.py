"""Delimited text read in bounded batches: polars parses the well-formed bulk, the careful
record parser (text.parse_records) reads only the batches that need it.

A file is read in byte batches cut at a line end outside quotes (quote parity), so no
record spans two batches and memory is set by the batch size, not the file size. A
batch takes the fast path when every line is one complete, well-formed record
(RFC 4180 quoting, checked by a regex on each line holding a quote), no line is blank,
and line ends are `\\n` or `\\r\\n`; then polars' CSV reader gives the fields (identical to the csv
module's for such lines) and the line itself is the record's `raw`. Any other batch
(a truncated last line, an unterminated quote, a lone `\\r`, blank lines, fields quoted
oddly) is read by `parse_records`, exactly as before. Record numbers run over the file.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.sources.errors import SourceError
from pipeline.sources.raw import Export
from pipeline.sources.text import (
    Record,
    decode,
    decode_lines,
    describe_mixed,
    head_lines,
    parse_records,
    split_lines,
)

CHUNK = 8 * 1024 * 1024
RUNAWAY_BYTES = 1024 * 1024  # at least this much text without a safe cut: a stray quote


@dataclass
class Batch:
    """Records of one batch: `fields` (one String column per field position, `f0…`),
    `widths` (field count per record), `_row` (1-based over the file), `_raw`."""

    frame: pl.DataFrame  # f0 … f<width-1>, _width, _row, _raw
    fast: bool
    # A cp1251 file's lines read as UTF-8 and as cp1251 in this batch (text.decode_lines)
    utf8_lines: list[int] = field(default_factory=list)
    cp1251_lines: list[int] = field(default_factory=list)
    # No value holds a NUL or an invisible character (names.INVISIBLE): known from the
    # batch's bytes (False: not known, transform.values looks)
    plain: bool = False


def fingerprint(path: Path) -> tuple[str, str | None]:
    """(sha256 of the bytes, the first encoding among utf-8-sig/utf-8 that decodes
    the whole file strictly, else None) in one streaming pass. The hash of a chunk runs
    in a second thread (hashlib releases the GIL) while this one checks the UTF-8."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid, bom = True, None
    with Path(path).open("rb") as handle, ThreadPoolExecutor(1) as hasher:
        hashing = None
        while chunk := handle.read(CHUNK):
            if bom is None:
                bom = chunk.startswith(codecs.BOM_UTF8)
            if hashing is not None:
                hashing.result()
            hashing = hasher.submit(digest.update, chunk)
            # ASCII after a complete sequence is valid UTF-8 as it is (no need to decode)
            if valid and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
        if hashing is not None:
            hashing.result()
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    encoding = ("utf-8-sig" if bom else "utf-8") if valid else None
    return digest.hexdigest(), encoding


def resolve_encoding(path: Path, configured: str, utf8: str | None) -> str:
    """The encoding to read with, by text.decode's rules (auto: BOM, utf-8, cp1251). A
    cp1251 file is decoded line by line where it holds UTF-8 (text.decode_lines): a line
    in neither fails the batch it is in, naming it."""
    if configured != "auto":
        return configured
    return utf8 or "cp1251"


class MixedLines:
    """A cp1251 file's lines found to be UTF-8 (and cp1251), over its batches."""

    def __init__(self) -> None:
        self.utf8: list[int] = []
        self.cp1251: list[int] = []
        self.counts = [0, 0]

    def add(self, batch: Batch) -> None:
        self.counts[0] += len(batch.utf8_lines)
        self.counts[1] += len(batch.cp1251_lines)
        self.utf8 += batch.utf8_lines[: 100 - len(self.utf8)]
        self.cp1251 += batch.cp1251_lines[: 100 - len(self.cp1251)]

    def describe(self) -> str:
        return describe_mixed(self.utf8, self.cp1251, (self.counts[0], self.counts[1]))


class Records:
    """One export's records, batch by batch (at least one), and its encoding. A whole
    export is decoded as text.decode does and parsed as one batch; a batched one is read
    in pieces of export.batch_bytes (record_batches), its encoding by resolve_encoding, a
    cp1251 file's UTF-8 lines named as they are met. `head_text` holds the header lines."""

    def __init__(self, export: Export, configured: str) -> None:
        self._export = export
        self._text: str | None = None
        if export.batched:
            assert export.path is not None, "a batched export is read from its file"
            self.encoding = resolve_encoding(export.path, configured, export.utf8)
            self.head_text = header_text(export.path, self.encoding)
        else:
            self._text, self.encoding = decode(export.read_bytes(), configured)
            self.head_text = self._text

    def batches(self, delimiter: str, max_width: int) -> Iterator[Batch]:
        if self._text is not None:
            yield parse_batch(self._text, delimiter, max_width, 1)
            return
        path, batch_bytes = self._export.path, self._export.batch_bytes
        assert path is not None and batch_bytes is not None
        mixed = MixedLines() if self.encoding == "cp1251" else None
        empty = True
        for batch in record_batches(path, self.encoding, delimiter, max_width, batch_bytes):
            if mixed is not None:
                mixed.add(batch)
                self.encoding = mixed.describe()
            empty = False
            yield batch
        if empty:
            yield Batch(records_batch([], 1, max_width), False)


def text_batches(path: Path, encoding: str, batch_bytes: int) -> Iterator[str]:
    """Decoded text in pieces of ~batch_bytes, each ending at a line end outside quotes."""
    for piece in _pieces(path, encoding, batch_bytes):
        yield piece.text


class _Piece:
    """One piece of a file: its text and that text as UTF-8 bytes, each made when first
    asked for. A UTF-8 piece that is ASCII is valid as it is (no decoding); any other piece
    is decoded at once, so a decoding error is raised for the piece it is in."""

    def __init__(self, raw: bytes, encoding: str, first: bool, first_line: int = 1) -> None:
        self._raw, self._encoding, self._first = raw, encoding, first
        self._text: str | None = None
        self._utf8: bytes | None = None
        self.utf8_lines: list[int] = []
        self.cp1251_lines: list[int] = []
        if encoding == "cp1251":
            self._text, self.utf8_lines, self.cp1251_lines = decode_lines(raw, first_line)
        utf8 = encoding == "utf-8" or (
            encoding == "utf-8-sig" and not (first and raw.startswith(codecs.BOM_UTF8))
        )
        if utf8:
            self._utf8 = raw  # the text's UTF-8 bytes are the file's bytes
        if self._text is None and not (utf8 and raw.isascii()):
            self._text = _decode(raw, encoding, first)

    def plain(self) -> bool:
        """The text holds no NUL and no invisible character (names.INVISIBLE), told from
        the bytes: ASCII without NUL, or cp1251 without UTF-8 lines, 0x00 and 0xAD (the
        soft hyphen, the one invisible character cp1251 encodes)."""
        raw = self._raw
        if self._encoding == "cp1251":
            return not self.utf8_lines and b"\x00" not in raw and b"\xad" not in raw
        ascii_compatible = self._encoding in ("utf-8", "utf-8-sig", "ascii")
        return ascii_compatible and raw.isascii() and b"\x00" not in raw

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _decode(self._raw, self._encoding, self._first)
        return self._text

    @property
    def utf8(self) -> bytes:
        if self._utf8 is None:
            self._utf8 = self.text.encode("utf-8")
        return self._utf8


def _pieces(path: Path, encoding: str, batch_bytes: int) -> Iterator[_Piece]:
    """The file in pieces of about batch_bytes, each ending at a line end outside quotes.
    A quoted field longer than a batch and RUNAWAY_BYTES is a quote never closed (no
    record is that long): the piece is then cut at the chunk's last line end, and the
    record parser reads the lines after the stray quote as records of their own
    (text.parse_records), so a stray quote never pulls the rest of the file into memory.

    The file is read in chunks of batch_bytes into one buffer (the cuts are found there),
    and each piece is read again from the file into bytes of its own: one new piece of
    memory a piece, not two (a chunk and the piece joined from it)."""
    first, line = True, 1  # the first piece; the number of the next piece's first line
    start, quotes = 0, 0  # where the bytes after the last cut begin; how many quotes they hold
    buffer = bytearray(batch_bytes)
    with Path(path).open("rb", buffering=0) as handle:
        fd, offset = handle.fileno(), 0  # offset: where the chunk in the buffer begins
        while size := _fill(handle, buffer):
            cut = _cut(buffer, quotes, size)
            if cut is None and offset - start >= max(batch_bytes, RUNAWAY_BYTES):  # cut anyway
                cut = buffer.rfind(b"\n", 0, size) + 1 or None
            if cut is None:  # no safe cut yet (a quoted field spans the chunk): read on
                quotes += buffer.count(b'"', 0, size)
                offset += size
                continue
            piece = _read_at(fd, start, offset + cut)
            start, quotes = offset + cut, buffer.count(b'"', cut, size)
            offset += size
            yield _Piece(piece, encoding, first, line)
            first = False
            if encoding == "cp1251":  # line numbers name a cp1251 file's UTF-8 lines
                line += piece.count(b"\n")
        if offset > start:
            yield _Piece(_read_at(fd, start, offset), encoding, first, line)


def _fill(handle, buffer: bytearray) -> int:
    """Read into the buffer until it is full or the file ends; the bytes read."""
    view, size = memoryview(buffer), 0
    while size < len(buffer) and (count := handle.readinto(view[size:])):
        size += count
    return size


def _read_at(fd: int, begin: int, end: int) -> bytes:
    """The file's bytes [begin, end), read already once (a short read only at a file cut
    meanwhile, which the fingerprint check of a later run tells)."""
    data = os.pread(fd, end - begin, begin)
    while len(data) < end - begin and (
        more := os.pread(fd, end - begin - len(data), begin + len(data))
    ):
        data += more
    return data


def _cut(data: bytearray, quotes: int, size: int) -> int | None:
    """End of the last line in data[:size] whose prefix, after `quotes` quotes before
    data, holds an even number of quotes (every piece yielded before holds an even number,
    so parity restarts at each piece)."""
    position = data.rfind(b"\n", 0, size)
    while position != -1:
        if (quotes + data.count(b'"', 0, position)) % 2 == 0:
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
    if encoding == "cp1251":  # a header line in UTF-8 is read as UTF-8, as in the batches
        with contextlib.suppress(SourceError):
            return decode_lines(data[: data.rfind(b"\n") + 1] or data)[0]
    return data.decode(encoding, errors="ignore")


def first_record(text: str, delimiter: str) -> Record | None:
    """A file's first record (its header), or None when the file has no record."""
    records = parse_records(head_lines(text, 50), delimiter)
    return records[0] if records else None


def _record_pattern(delimiter: str) -> str:
    d = "\\t" if delimiter == "\t" else "\\" + delimiter
    field = rf'(?:"(?:[^"]|"")*"|[^"{d}\r\n]*)'
    return rf"^{field}(?:{d}{field})*$"


def parse_batch(text: str, delimiter: str, max_width: int, first_row: int) -> Batch:
    """One batch → records (blank and all-empty records skipped, as parse_records does)."""
    fast = _fast_batch(text.encode("utf-8"), delimiter, max_width, first_row)
    if fast is not None:
        return Batch(fast, True)
    return Batch(_careful_batch(text, delimiter, max_width, first_row), False)


def _careful_batch(text: str, delimiter: str, max_width: int, first_row: int) -> pl.DataFrame:
    records = parse_records(split_lines(text), delimiter)
    return records_batch(records, first_row, max_width)


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


def _fast_batch(data: bytes, delimiter: str, max_width: int, first_row: int) -> pl.DataFrame | None:
    """A batch's records read by polars, or None when any line is not one well-formed
    record. `data` is the batch's text as UTF-8 (every check below is on ASCII bytes)."""
    if not data:
        return None
    lines = pl.read_csv(
        data, has_header=False, separator="\x1f", quote_char=None, schema={"line": pl.String}
    )["line"]
    if lines.null_count() or b"\x1f" in data:
        return None
    # A lone \r ends a line for the csv module, not for polars. polars drops the \r of
    # each \r\n (and a last one at the end): any \r left in a line, or at the end, is lone.
    cr = b"\r" in data
    if cr and (data.endswith(b"\r") or lines.str.contains("\r", literal=True).any()):
        return None
    # Every byte is in a line or ends one (\n, or the \r\n whose \r polars dropped): a
    # line polars skipped (a blank one) or split differently leaves bytes unaccounted.
    ends = lines.len() - (0 if data.endswith(b"\n") else 1) + (data.count(b"\r") if cr else 0)
    if lines.str.len_bytes().sum() + ends != len(data):
        return None
    # A line without a quote is well-formed as it is (fields of anything but quotes and
    # line ends): the quoting regex runs on the lines that hold one.
    quoted = lines.filter(lines.str.contains('"', literal=True))
    if not quoted.str.contains(_record_pattern(delimiter)).all():
        return None
    # The fields of max_width columns (a shorter record's missing fields read as "", a
    # longer one's are cut off), straight from the batch's bytes.
    names = [f"f{i}" for i in range(max_width)]
    frame = pl.read_csv(
        data,
        has_header=False,
        schema=dict.fromkeys(names, pl.String),
        separator=delimiter,
        quote_char='"',
        truncate_ragged_lines=True,
        empty_string_is_null=False,
        missing_columns="insert",
        extra_columns="ignore",
    )
    if frame.height != lines.len():
        return None
    # Field counts: a well-formed line's delimiters, less those inside its fields, plus
    # one. Exact for a record of at most max_width fields (all of them read); larger
    # for a wider one (its fields past max_width are not read): those are counted below.
    inside = pl.sum_horizontal(pl.col(n).str.count_matches(delimiter, literal=True) for n in names)
    count = lines.str.count_matches(delimiter, literal=True).cast(pl.Int64) + 1
    frame = frame.with_columns(_width=count - inside, _raw=lines)
    frame = frame.with_columns(_width=pl.when(pl.col("_width") <= max_width).then(pl.col("_width")))
    wide = frame["_width"].null_count() > 0
    if wide:  # beyond max_width fields: count them exactly (0: a blank-looking line)
        lines_wide = frame.filter(pl.col("_width").is_null())["_raw"].to_list()
        widths = {raw: _field_count(raw, delimiter) for raw in lines_wide}
        exact = pl.col("_raw").replace_strict(widths, default=None, return_dtype=pl.Int64)
        frame = frame.with_columns(
            _wide=pl.col("_width").is_null(), _width=pl.coalesce("_width", exact)
        )
    # Blank-looking records (every field empty or spaces) are no records, as in parse_records.
    # Only a line of nothing but spaces, quotes and delimiters can be one: without such lines
    # (or lines too wide for the columns read) there is nothing to look for.
    d = "\\t" if delimiter == "\t" else "\\" + delimiter
    maybe_blank = ~pl.col("_raw").str.contains(f'[^\\s"{d}]')
    if wide or frame.select(maybe_blank.any()).item():
        blank = pl.all_horizontal([pl.col(n).str.strip_chars() == "" for n in names])
        if wide:  # the columns read hold only part of a wide line: the count above tells
            blank = pl.when(pl.col("_wide")).then(pl.col("_width") == 0).otherwise(blank)
        frame = frame.filter(~blank)
    # Fields past a record's own count are null (read as ""): only the positions at or
    # past the narrowest record's count can hold any.
    narrowest = frame["_width"].min() if frame["_width"].null_count() == 0 else 0
    frame = frame.with_columns(
        [
            pl.when(pl.col("_width") > i).then(pl.col(f"f{i}")).alias(f"f{i}")
            for i in range(int(narrowest or 0), max_width)
        ]
    )
    return frame.select(
        *names[:max_width],
        "_width",
        _row=pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64),
        _raw="_raw",
        _error=pl.lit(None, dtype=pl.String),
    )


def _field_count(line: str, delimiter: str) -> int:
    """Fields in one line as the csv module reads them (0 for a blank-looking line, which
    is no record: the blank filter drops it)."""
    records = parse_records([line], delimiter)
    return len(records[0].fields or []) if records else 0


def record_batches(
    path: Path, encoding: str, delimiter: str, max_width: int, batch_bytes: int
) -> Iterator[Batch]:
    """Every record of a file, batch by batch, numbered 1… over the file.

    The next batch is read and parsed in a second thread while the caller works on the
    current one (polars and file reads release the GIL), so at most two batches are in
    memory at once."""
    batches = _record_batches(path, encoding, delimiter, max_width, batch_bytes)
    with ThreadPoolExecutor(1) as reader:
        try:
            upcoming = reader.submit(next, batches, None)
            while (batch := upcoming.result()) is not None:
                upcoming = reader.submit(next, batches, None)
                yield batch
        finally:
            upcoming.cancel()
            with contextlib.suppress(Exception):
                upcoming.result()  # let a running read finish before closing its generator
            batches.close()


def _record_batches(
    path: Path, encoding: str, delimiter: str, max_width: int, batch_bytes: int
) -> Iterator[Batch]:
    next_row = 1
    for piece in _pieces(path, encoding, batch_bytes):
        fast = _fast_batch(piece.utf8, delimiter, max_width, next_row)
        if fast is not None:
            batch = Batch(fast, True)
        else:
            batch = Batch(_careful_batch(piece.text, delimiter, max_width, next_row), False)
        batch.utf8_lines, batch.cp1251_lines = piece.utf8_lines, piece.cp1251_lines
        batch.plain = piece.plain()
        del piece
        next_row += batch.frame.height
        yield batch
