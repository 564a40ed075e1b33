"""The presets' batch readers (polars for well-formed records, the csv module for the
rest) read every file exactly as the careful readers do, whole or in batches: the careful
Asterisk reader below and generic.read_whole (the table reader), record by record with
the csv module, are the reference."""

from __future__ import annotations

import codecs

import polars as pl
import pytest

from pipeline.config import Source, load_config
from pipeline.demo import write_demo_exports
from pipeline.paths import REPO_ROOT
from pipeline.sources import (
    Export,
    SourceError,
    asterisk,
    fastcsv,
    generic,
    read_batches,
    read_file,
)
from pipeline.sources.raw import RawFile, records_frame, rejects_frame
from pipeline.sources.text import decode, parse_records, split_lines
from tests.unit._fixtures_ingest import CRM_SOURCE, HISTORY_SOURCE, PBX_SOURCE, make_config


def assert_same_raw(fast: RawFile, careful: RawFile) -> None:
    assert fast.frame.schema == careful.frame.schema
    assert fast.frame.equals(careful.frame)
    assert fast.rejects.schema == careful.rejects.schema
    assert fast.rejects.equals(careful.rejects)
    assert (fast.rows_total, fast.encoding, fast.delimiter) == (
        careful.rows_total,
        careful.encoding,
        careful.delimiter,
    )
    assert fast.columns_found == careful.columns_found
    assert (fast.labels, fast.expected) == (careful.labels, careful.expected)


def careful_asterisk(data: bytes, name: str, source: Source) -> RawFile:
    """Master.csv record by record with the csv module (text.parse_records): the reference."""
    text, encoding = decode(data, source.formats.encoding)
    delimiter = "," if source.formats.delimiter == "auto" else source.formats.delimiter
    records = parse_records(split_lines(text), delimiter)
    asterisk.refuse_header(records[0].fields if records else None, name, source)
    good, bad, widths = [], [], set()
    expected = "16, 17 or 18 fields"
    for record in records:
        if record.fields is None:
            bad.append((record.number, "(record)", expected, record.raw, record.error or ""))
        elif len(record.fields) not in asterisk.WIDTHS:
            reason = (
                f"the record has {len(record.fields)} fields; Asterisk cdr-csv writes 16, 17 or 18"
            )
            bad.append((record.number, "(record)", expected, record.raw, reason))
        else:
            widths.add(len(record.fields))
            record.fields.extend([""] * (len(asterisk.FIELDS) - len(record.fields)))
            good.append(record)
    fields = asterisk.FIELDS
    return RawFile(
        frame=asterisk.canonical_calls(records_frame(list(fields), good)),
        rejects=rejects_frame(bad),
        rows_total=len(good) + len(bad),
        encoding=encoding,
        delimiter=delimiter,
        columns_found=[f"{w} fields: {', '.join(fields[:w])}" for w in sorted(widths)],
        labels=asterisk.LABELS,
        expected=asterisk.EXPECTED,
    )


def read_in_batches(tmp_path, data: bytes, name: str, source: Source, batch_bytes: int) -> RawFile:
    """The preset's reader on the file in batches of ~batch_bytes, its batches as one
    RawFile (rows and rejects together, the last batch's file-level facts)."""
    path = tmp_path / "export"
    path.write_bytes(data)
    _, utf8 = fastcsv.fingerprint(path)
    batches = list(read_batches(Export(name, path, batch_bytes=batch_bytes, utf8=utf8), source))
    last = batches[-1]
    frames = [b.frame for b in batches if b.frame.width]
    return RawFile(
        frame=pl.concat(frames) if frames else last.frame,
        rejects=pl.concat([b.rejects for b in batches]),
        rows_total=sum(b.rows_total for b in batches),
        encoding=last.encoding,
        delimiter=last.delimiter,
        columns_found=last.columns_found,
        labels=last.labels,
        expected=last.expected,
    )


def cdr(uniqueid: str = "1710054000.1", src: str = "89161234567", width: int = 17) -> str:
    fields = ['""', f'"{src}"', '"74951112233"', '"from-trunk"', f'"""Client"" <{src}>"',
              '"SIP/trunk-1"', '"SIP/101-1a"', '"Dial"', '"SIP/101,30"',
              '"2025-03-10 10:00:00"', '"2025-03-10 10:00:05"', '"2025-03-10 10:03:05"', "185",
              "180", '"ANSWERED"', '"DOCUMENTATION"', f'"{uniqueid}"', '"x"']  # fmt: skip
    fields += [f'"{i}"' for i in range(width - len(fields))]
    return ",".join(fields[:width])


GOOD = [cdr(f"1.{i}", width=16 + i % 3) for i in range(20)]
ASTERISK_TEXTS = {
    "well formed": "\n".join(GOOD) + "\n",
    "crlf, no final newline": "\r\n".join(GOOD),
    "blank and blank-looking lines": "\n".join(
        [GOOD[0], "", "   ", '"",""," "', ",,,", GOOD[1], '""""', GOOD[2]]
    )
    + "\n",
    "wrong widths": "\n".join([GOOD[0], cdr(width=13), cdr(width=21), GOOD[1]]) + "\n",
    # delimiters inside quoted fields, within the columns read and past them (field counts)
    "quoted delimiters in the last and in extra fields": "\n".join(
        [
            cdr(width=17) + ',"u,v"',
            cdr(width=18) + ',"p,q,r"',
            cdr(width=18) + ',"p,q","r"',
            cdr(width=18) + ',",,,"',
            GOOD[1],
        ]
    )
    + "\n",
    # wider than the columns read, blank in those: a record only if a later field is not
    "wide lines blank at the start": "\n".join([GOOD[0], "," * 19 + '"x"', "," * 25, GOOD[1]]),
    "empty uniqueid": "\n".join([GOOD[0], cdr(uniqueid=""), cdr(uniqueid="  ")]) + "\n",
    "a quoted newline": "\n".join([GOOD[0], GOOD[1].replace("Dial", "Di\nal"), GOOD[2]]) + "\n",
    "a lone carriage return": GOOD[0] + "\r" + GOOD[1] + "\n",
    "odd quoting": "\n".join([GOOD[0], 'a"b,"c"', GOOD[1]]) + "\n",
    "cut short": "\n".join(GOOD[:3]) + '\n"x","unterminated',
    "control characters": "\n".join([GOOD[0], GOOD[1].replace("Dial", "Di\x01al"), GOOD[2]]),
    "only blank lines": "\n\n  \n",
    "empty": "",
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    base = tmp_path_factory.mktemp("fastcsv")
    config = make_config(base, CRM_SOURCE + HISTORY_SOURCE + PBX_SOURCE)
    return {s.kind: s for s in config.sources}


@pytest.mark.parametrize("case", sorted(ASTERISK_TEXTS))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_asterisk_file_read_fast_equals_the_careful_reader(sources, case, encoding):
    data = ASTERISK_TEXTS[case].encode(encoding)
    fast = read_file(data, "pbx/Master.csv", sources["calls"])
    assert_same_raw(fast, careful_asterisk(data, "pbx/Master.csv", sources["calls"]))


@pytest.mark.parametrize("case", sorted(ASTERISK_TEXTS))
def test_asterisk_file_read_in_batches_equals_the_careful_reader(tmp_path, sources, case):
    data = ASTERISK_TEXTS[case].encode("utf-8")
    batched = read_in_batches(tmp_path, data, "pbx/Master.csv", sources["calls"], 700)
    assert_same_raw(batched, careful_asterisk(data, "pbx/Master.csv", sources["calls"]))


DEALS = [
    "ID сделки;Воронка;Этап;Ответственный;Бюджет;Дата создания;Телефон;Город",
    "101;P;A;Смирнова А.;1 000,00;05.03.2025 10:30;+7 916 123-45-67;Москва",
    '102;P;"A;B";Смирнова А.;;05.03.2025 11:30;"89161234567, 84951234567";"Химки"',
    "103;P;A;;;05.03.2025 12:30;;",
]
DEALS_TEXTS = {
    "well formed": "\r\n".join(DEALS) + "\r\n",
    "no final newline": "\n".join(DEALS),
    "blank lines and a short record": "\n".join([DEALS[0], "", DEALS[1], "104;P", DEALS[2]]),
    "a record too wide": "\n".join([*DEALS, "105;P;A;x;1;05.03.2025 10:30;1;2;3;4;5"]) + "\n",
    "a quoted newline": "\n".join([DEALS[0], DEALS[1].replace("Москва", '"Мос\nква"')]) + "\n",
    "a header over two lines": '"ID\nсделки";' + "\n".join(DEALS)[len("ID сделки;") :] + "\n",
    "blank lines before the header": "\n\n" + "\n".join(DEALS) + "\n",
    "header only": DEALS[0] + "\n",
    "repeated header names": "\n".join([DEALS[0] + ";Город", DEALS[1] + ";Мытищи"]) + "\n",
    "empty": "",
}


@pytest.mark.parametrize("case", sorted(DEALS_TEXTS))
@pytest.mark.parametrize("encoding", ["cp1251", "utf-8", "utf-8-sig"])
def test_generic_file_read_fast_equals_the_careful_reader(sources, case, encoding):
    data = DEALS_TEXTS[case].encode(encoding)
    name = "crm/deals_2025-03-05.csv"
    try:
        careful = generic.read_whole(data, name, sources["crm"])
    except SourceError as error:
        with pytest.raises(type(error)) as raised:
            read_file(data, name, sources["crm"])
        assert str(raised.value) == str(error)
        return
    assert_same_raw(read_file(data, name, sources["crm"]), careful)


@pytest.mark.parametrize("case", sorted(DEALS_TEXTS))
@pytest.mark.parametrize("encoding", ["cp1251", "utf-8-sig"])
def test_generic_file_read_in_batches_equals_the_careful_reader(tmp_path, sources, case, encoding):
    data = DEALS_TEXTS[case].encode(encoding)
    name = "crm/deals_2025-03-05.csv"
    careful = generic.read_whole(data, name, sources["crm"])
    assert_same_raw(read_in_batches(tmp_path, data, name, sources["crm"], 64), careful)


def test_a_header_that_cannot_be_parsed_fails_the_same_in_batches(tmp_path, sources):
    data = '"ID сделки;Этап\n1;A\n2;B\n'.encode()
    name = "crm/deals.csv"
    with pytest.raises(SourceError) as careful:
        generic.read_whole(data, name, sources["crm"])
    with pytest.raises(SourceError) as batched:
        read_in_batches(tmp_path, data, name, sources["crm"], 64)
    assert str(batched.value) == str(careful.value)
    assert str(careful.value).startswith("the header line cannot be parsed: a quote opened")


def test_generic_file_with_a_column_missing_fails_like_the_careful_reader(sources):
    data = "\n".join(["ID сделки;Этап", "1;A"]).encode()
    with pytest.raises(SourceError) as careful:
        generic.read_whole(data, "crm/deals.csv", sources["crm"])
    with pytest.raises(SourceError) as fast:
        read_file(data, "crm/deals.csv", sources["crm"])
    assert str(fast.value) == str(careful.value)


def test_the_demo_exports_read_fast_equal_the_careful_readers(tmp_path):
    write_demo_exports(tmp_path / "inbox", tmp_path / "expected")
    config = load_config(REPO_ROOT / "voronka.yaml")
    careful = {"asterisk": careful_asterisk, "generic": generic.read_whole}
    seen = 0
    for source in config.sources:
        if source.preset not in careful:
            continue
        for path in sorted((tmp_path / "inbox").glob(source.files)):
            name = path.relative_to(tmp_path / "inbox").as_posix()
            data = path.read_bytes()
            expected = careful[source.preset](data, name, source)
            assert_same_raw(read_file(data, name, source), expected)
            seen += 1
    assert seen >= 3


@pytest.mark.parametrize("case", sorted(ASTERISK_TEXTS))
@pytest.mark.parametrize("batch_bytes", [64, 700, 1 << 20])
def test_record_batches_number_and_read_records_as_one_careful_pass(tmp_path, case, batch_bytes):
    text = ASTERISK_TEXTS[case]
    path = tmp_path / "Master.csv"
    path.write_bytes(text.encode("utf-8"))
    batches = list(fastcsv.record_batches(path, "utf-8", ",", 18, batch_bytes))
    got = pl.concat([b.frame for b in batches], how="diagonal") if batches else None
    careful = fastcsv.records_batch(
        parse_records(split_lines(text), ","), first_row=1, max_width=18
    )
    if got is None:
        assert careful.height == 0
        return
    columns = [*(f"f{i}" for i in range(18)), "_width", "_row", "_raw", "_error"]
    assert got.select(columns).equals(careful.select(columns))


def test_a_piece_that_is_not_the_encoding_fails_in_that_batch(tmp_path):
    path = tmp_path / "Master.csv"
    path.write_bytes((cdr() + "\n").encode() * 50 + "Звонок\n".encode("cp1251"))
    batches = fastcsv.record_batches(path, "utf-8", ",", 18, 1 << 10)
    assert next(batches).fast
    with pytest.raises(SourceError, match="not valid utf-8"):
        list(batches)


def test_utf8_bom_is_dropped_from_the_first_batch_only(tmp_path):
    path = tmp_path / "Master.csv"
    path.write_bytes(codecs.BOM_UTF8 + (cdr() + "\n").encode() * 40)
    frames = [b.frame for b in fastcsv.record_batches(path, "utf-8-sig", ",", 18, 1 << 10)]
    assert len(frames) > 1
    assert pl.concat(frames)["f0"].to_list() == [""] * 40


PLAIN_LINES = {
    "cp1251": ["ID;Этап", "1;Замер", "2;Заме\u00adр", "3;Звонок", "4;\u0000", "5;Визит"],
    "utf-8": ["ID;Stage", "1;Call", "2;Ca\u200bll", "3;Visit", "4;Звонок", "5;Won"],
}


@pytest.mark.parametrize("encoding", sorted(PLAIN_LINES))
def test_a_batch_is_plain_only_when_no_line_holds_an_invisible_character(tmp_path, encoding):
    import re

    from pipeline.names import INVISIBLE

    lines = PLAIN_LINES[encoding]
    path = tmp_path / "deals.csv"
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
    batches = list(fastcsv.record_batches(path, encoding, ";", 2, 8))
    plain = {raw: b.plain for b in batches for raw in b.frame["_raw"]}
    hiding = {line for line in lines if re.search(INVISIBLE, line)}
    assert {raw for raw, flag in plain.items() if not flag} >= hiding  # never plain
    assert any(plain.values())  # a batch of visible cp1251/ASCII text is plain
    if encoding == "utf-8":  # non-ASCII UTF-8 is not told from its bytes
        assert not plain["4;Звонок"]
