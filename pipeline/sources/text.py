"""Delimited text: encoding detection, delimiter sniffing, and splitting into records
that keep their 1-based record number and the exact text they were read from.

Encodings come from an allow-list and decode strictly (a cp1251 file is never half
read as UTF-8). Records are parsed with Python's csv module, so quoted delimiters and
embedded newlines work; a malformed record (an unterminated quote at the end of a
truncated file) becomes a record with an error instead of a crash.

A quote opened and never closed must not swallow the lines after it into one record: a
malformed record spanning several physical lines, or any record spanning more than
MAX_RECORD_LINES, or whose field with line breaks holds as many delimiters as a whole
record (a second stray quote a few lines on "closed" it), becomes an error record of its
first line alone, and reading starts again on the next line. So every physical line is
counted in some record.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import csv
import itertools
import operator
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.sources.errors import SourceError

DELIMITERS = (",", ";", "\t")
# A record (a quoted field with line breaks) spanning more lines than this is taken for
# a quote that was never closed.
MAX_RECORD_LINES = 50
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SNIFF_LINES = 200


@dataclass(frozen=True)
class Record:
    number: int  # 1-based, counting records (header included at this level)
    fields: list[str] | None  # None when the record could not be parsed
    raw: str  # the text it was read from, line breaks inside kept, trailing one dropped
    error: str | None = None


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Bytes → (text, encoding used). `auto` tries utf-8-sig (BOM), utf-8, cp1251.

    A file that is not UTF-8 as a whole (or is configured as cp1251) is decoded line by
    line when some of its lines are UTF-8: `encoding used` then names the other lines
    (`cp1251; utf-8 in lines 4, 8`), never mojibake."""
    if encoding == "cp1251":
        return decode_mixed(data)
    if encoding != "auto":
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            raise SourceError(f"not valid {encoding} (configured): {error}") from None
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise SourceError(f"starts with a UTF-8 BOM but is not valid UTF-8: {error}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return decode_mixed(data)


# Where a line may be UTF-8: only lines holding a whole multi-byte sequence are tried. A
# sequence is a two-byte lead (C2–DF) then a continuation byte (80–BF), or a three- or
# four-byte lead then two or three continuation bytes: so a UTF-8 line holds a lead of
# the first kind before a continuation byte, or two continuation bytes in a row. Found as
# the two-byte strings `AC` and `CC` in the bytes mapped to classes (line breaks kept, any
# other byte `.`): translate and `in` are far quicker than a regex scanning every byte.
# cp1251 text makes them only where a capital letter (C2–DF) is followed by one of the
# rarer characters 80–BF (Ё, ё, №, «, », the no-break space…), or two of those meet; a
# lowercase letter (E0–FF) before ё, as in "Семён", is none.
_HINTS = (b"AC", b"CC")
_HINT_CLASSES = bytes(
    ord("A")
    if 0xC2 <= b <= 0xDF
    else ord("C")
    if 0x80 <= b <= 0xBF
    else b
    if b in b"\r\n"
    else ord(".")
    for b in range(256)
)
_LISTED_LINES = 20


def decode_mixed(data: bytes) -> tuple[str, str]:
    """cp1251 bytes, some of whose lines may be UTF-8 → (text, the encoding used)."""
    text, utf8_lines, cp1251_lines = decode_lines(data)
    return text, describe_mixed(utf8_lines, cp1251_lines)


def decode_lines(data: bytes, first_line: int = 1) -> tuple[str, list[int], list[int]]:
    """Each line (numbered from first_line) as UTF-8 when it is valid UTF-8 with a
    non-ASCII character, else as cp1251 → (text, UTF-8 line numbers, cp1251 line numbers:
    the other lines holding a non-ASCII character). SourceError names a line that is
    neither.

    Only a line holding a whole UTF-8 sequence (_HINTS) can be UTF-8: the bytes are
    decoded as cp1251 in one piece (one character a byte, so a line keeps its offsets)
    and those lines are tried as UTF-8 one by one."""
    lines = data.splitlines(keepends=True)
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:  # 0x98, a byte cp1251 lacks (in a UTF-8 line, or to name)
        return _decode_each_line(lines, first_line)
    utf8 = _utf8_lines(lines, data.translate(_HINT_CLASSES))
    if utf8:
        starts = _line_starts(lines)
        parts: list[str] = []
        done = 0
        for index, line in utf8.items():
            parts += [text[done : starts[index]], line]
            done = starts[index + 1]
        text = "".join([*parts, text[done:]])
    non_ascii = map(operator.not_, map(bytes.isascii, lines))
    cp1251_lines = [
        first_line + index
        for index in itertools.compress(range(len(lines)), non_ascii)
        if index not in utf8
    ]
    return text, [first_line + index for index in utf8], cp1251_lines


def _utf8_lines(lines: list[bytes], classes: bytes) -> dict[int, str]:
    """The lines (by index, in order) that hold a hint (_HINTS, found in `classes`, the
    lines' bytes mapped by _HINT_CLASSES) and are valid UTF-8, decoded."""
    positions = [position for hint in _HINTS for position in _positions(classes, hint)]
    if not positions:
        return {}
    starts = _line_starts(lines)
    hinted = {bisect.bisect_right(starts, position) - 1 for position in positions}
    utf8: dict[int, str] = {}
    for index in sorted(hinted):
        with contextlib.suppress(UnicodeDecodeError):
            utf8[index] = lines[index].decode("utf-8")
    return utf8


def _line_starts(lines: list[bytes]) -> list[int]:
    """The offset of each line, and the end of the last."""
    return [0, *itertools.accumulate(map(len, lines))]


def _positions(data: bytes, needle: bytes) -> Iterator[int]:
    """Where `needle` starts in `data`, overlapping occurrences included."""
    position = data.find(needle)
    while position != -1:
        yield position
        position = data.find(needle, position + 1)


def _decode_each_line(lines: list[bytes], first_line: int) -> tuple[str, list[int], list[int]]:
    """`decode_lines` one line at a time."""
    parts: list[str] = []
    utf8_lines: list[int] = []
    cp1251_lines: list[int] = []
    for number, line in enumerate(lines, start=first_line):
        if line.isascii():
            parts.append(line.decode("ascii"))
            continue
        try:
            parts.append(line.decode("utf-8"))
            utf8_lines.append(number)
        except UnicodeDecodeError:
            try:
                parts.append(line.decode("cp1251"))
                cp1251_lines.append(number)
            except UnicodeDecodeError as error:
                raise SourceError(
                    f"line {number}: encoding is none of utf-8, utf-8 with BOM, cp1251 "
                    f"(strict decoding failed: {error})"
                ) from None
    return "".join(parts), utf8_lines, cp1251_lines


def describe_mixed(
    utf8_lines: list[int], cp1251_lines: list[int], counts: tuple[int, int] | None = None
) -> str:
    """`cp1251`, or the main encoding and the lines in the other one. `counts`: how many
    lines of each there were, when the lists hold only the first ones."""
    utf8_count, cp1251_count = counts or (len(utf8_lines), len(cp1251_lines))
    if not utf8_count:
        return "cp1251"
    if not cp1251_count:
        return "utf-8"
    main, other, lines, count = (
        ("cp1251", "utf-8", utf8_lines, utf8_count)
        if cp1251_count >= utf8_count
        else ("utf-8", "cp1251", cp1251_lines, cp1251_count)
    )
    listed = ", ".join(str(n) for n in lines[:_LISTED_LINES])
    more = f" and {count - _LISTED_LINES} more" if count > _LISTED_LINES else ""
    return f"{main}; {other} in lines {listed}{more}"


def split_lines(text: str) -> list[str]:
    """Physical lines with their endings (\\r\\n, \\n or \\r), exactly as in the text."""
    return _LINE.findall(text)


def head_lines(text: str, count: int) -> list[str]:
    """`split_lines(text)[:count]`, without splitting the rest of the text."""
    return [match.group() for match in itertools.islice(_LINE.finditer(text), count)]


def sniff_delimiter(text: str, configured: str = "auto") -> str:
    """The delimiter among , ; tab giving the most consistent field count over the first lines."""
    if configured != "auto":
        return configured
    sample = head_lines(text, _SNIFF_LINES)
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(r.fields) for r in parse_records(sample, delimiter) if r.fields]
        if len(counts) > 2:
            counts = counts[:-1]  # the sample may cut the last record short
        if not counts:
            continue
        width, times = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (times / len(counts), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def parse_records(lines: list[str], delimiter: str) -> list[Record]:
    """Lines → records. Blank lines are not records. A parse error yields an error record;
    an error spanning several lines, or a record spanning more than MAX_RECORD_LINES,
    yields an error record of its first line and the lines after it are read again."""
    records: list[Record] = []
    start: int | None = 0
    while start is not None:
        start = _parse_from(lines, start, delimiter, records)
    return records


def _parse_from(lines: list[str], start: int, delimiter: str, records: list[Record]) -> int | None:
    """Append the records of lines[start:] to `records`; return the line to read again
    from after a runaway quote (None at the end)."""
    reader = csv.reader(
        itertools.islice(lines, start, None),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        strict=True,
    )
    consumed = start
    while True:
        begin = consumed
        try:
            fields = next(reader)
        except StopIteration:
            return None
        except csv.Error as error:
            consumed = start + reader.line_num
            if consumed - begin > 1:
                why = f"malformed quoting: {error}"
                records.append(_runaway(len(records) + 1, lines, begin, why))
                return begin + 1
            reason = f"malformed quoting: {error}"
            if consumed >= len(lines):
                reason += " (the file may be cut short)"
            records.append(Record(len(records) + 1, None, _raw(lines, begin, consumed), reason))
            continue
        consumed = start + reader.line_num
        if consumed - begin > MAX_RECORD_LINES:
            why = f"a quoted field runs over {consumed - begin} lines"
            records.append(_runaway(len(records) + 1, lines, begin, why))
            return begin + 1
        if consumed - begin > 1 and _holds_records(fields, delimiter, records):
            why = f"a quoted field over {consumed - begin} lines holds whole records"
            records.append(_runaway(len(records) + 1, lines, begin, why))
            return begin + 1
        if not fields or all(not field.strip() for field in fields):
            continue
        records.append(Record(len(records) + 1, fields, _raw(lines, begin, consumed)))


def _holds_records(fields: list[str], delimiter: str, records: list[Record]) -> bool:
    """Whether a field with line breaks holds as many delimiters as a whole record has (the
    width of the first record read): a stray quote closed by another a few lines on, not
    a note typed over several lines, which would swallow the records between them."""
    width = next((len(record.fields) for record in records if record.fields), 0)
    if width < 3:
        return False
    return any(
        ("\n" in field or "\r" in field) and field.count(delimiter) >= width - 1 for field in fields
    )


def _runaway(number: int, lines: list[str], begin: int, why: str) -> Record:
    """The error record of a line whose quote is never closed on it."""
    reason = (
        f"a quote opened in this line is never closed ({why}); the lines after it are read "
        "as records of their own"
    )
    return Record(number, None, _raw(lines, begin, begin + 1), reason)


def _raw(lines: list[str], start: int, end: int) -> str:
    text = "".join(lines[start:end])
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\n", "\r")) else text
