"""Delimited text: strict encoding detection, delimiter sniffing, record splitting."""

from __future__ import annotations

import codecs

import pytest

from pipeline.sources.errors import SourceError
from pipeline.sources.text import decode, decode_lines, parse_records, sniff_delimiter, split_lines

TEXT = "Имя;Сумма\nЁлка;1 234,56\n"


def test_cp1251_utf8_and_bom_decode_to_the_same_text() -> None:
    assert decode(TEXT.encode("cp1251")) == (TEXT, "cp1251")
    assert decode(TEXT.encode("utf-8")) == (TEXT, "utf-8")
    assert decode(codecs.BOM_UTF8 + TEXT.encode("utf-8")) == (TEXT, "utf-8-sig")


def test_undecodable_bytes_fail_instead_of_being_replaced() -> None:
    with pytest.raises(SourceError, match="none of utf-8"):
        decode(b"abc\x98def")  # 0x98 is undefined in cp1251 and invalid UTF-8


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_sniffed_with_quoted_delimiters_present(delimiter: str) -> None:
    others = "".join(d for d in ",;\t" if d != delimiter)
    rows = [["a", "b", "c"], [f'"x{others}y"', "1", "2"], ["p", f'"q{others}"', "3"]]
    text = "\n".join(delimiter.join(row) for row in rows) + "\n"
    assert sniff_delimiter(text) == delimiter


def test_quoted_delimiters_and_embedded_newlines_stay_in_one_field() -> None:
    text = 'a;b\r\n"1;2";"line one\r\nline two"\r\n3;4\r\n'
    records = parse_records(split_lines(text), ";")
    assert [r.fields for r in records] == [["a", "b"], ["1;2", "line one\r\nline two"], ["3", "4"]]
    assert records[1].raw == '"1;2";"line one\r\nline two"'
    assert [r.number for r in records] == [1, 2, 3]


def test_unterminated_quote_at_the_end_is_an_error_record() -> None:
    records = parse_records(split_lines('a,b\n1,2\n3,"cut'), ",")
    assert records[1].fields == ["1", "2"]
    assert records[2].fields is None
    assert "cut short" in (records[2].error or "")
    assert records[2].raw == '3,"cut'


def test_blank_lines_are_not_records() -> None:
    records = parse_records(split_lines("a;b\n\n1;2\n;\n"), ";")
    assert [r.fields for r in records] == [["a", "b"], ["1", "2"]]


def test_decode_lines_reads_each_line_as_utf8_or_cp1251_by_itself() -> None:
    """Lines in either encoding, several hint-like pairs on a line (cp1251 `лё` is the
    UTF-8 lead/continuation pair EB B8), \\r, \\r\\n and \\n breaks, a last line without
    one: each line is decoded by itself, and the numbers name the lines."""
    pieces = [
        ("id;name\n", "ascii"),
        ("1;Ёлка «Бёрн» лёд лён\r\n", "cp1251"),
        ("2;Ёлка «Бёрн»\r", "utf-8"),
        ("3;plain\n", "ascii"),
        ("4;Привет, лёд\n", "cp1251"),
        ("5;Привет, лёд\n", "utf-8"),
        ("6;€ №5", "cp1251"),
    ]
    data = b"".join(text.encode("utf-8" if enc == "ascii" else enc) for text, enc in pieces)
    text, utf8, cp1251 = decode_lines(data, first_line=10)
    assert text == "".join(line for line, _ in pieces)
    assert utf8 == [10 + i for i, (_, enc) in enumerate(pieces) if enc == "utf-8"]
    assert cp1251 == [10 + i for i, (_, enc) in enumerate(pieces) if enc == "cp1251"]


def test_decode_lines_names_a_line_in_neither_encoding() -> None:
    data = "1;лёд\n".encode("cp1251") + b"2;\x98\n" + "3;лёд\n".encode()
    with pytest.raises(SourceError, match="line 2: encoding is none of"):
        decode_lines(data)
