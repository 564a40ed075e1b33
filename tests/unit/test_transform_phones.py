"""Phones → E.164: every local spelling of the site's country (phone_country: Russia's by
default, North America's) gives the same join key."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest

from pipeline.transform.phones import (
    NORTH_AMERICA,
    PLANS,
    RUSSIA,
    hash_phone_column,
    is_extension,
    normalize_phone,
    normalize_phone_column,
    phone_hash,
    phone_hasher,
    split_phones,
    split_phones_column,
)


@pytest.mark.parametrize(
    "text",
    [
        "89161234567",
        "79161234567",
        "+79161234567",
        "+7 (916) 123-45-67",
        "8 (916) 123-45-67",
        "8-916-123-45-67",
        "9161234567",
        " +7\u00a0916\u00a0123\u00a045\u00a067 ",
    ],
)
def test_every_local_format_gives_the_same_e164(text: str) -> None:
    assert normalize_phone(text) == "+79161234567"


@pytest.mark.parametrize(
    "text", ["", "101", "anonymous", "12345", "+7916123456", "8916123456789", None]
)
def test_things_that_are_not_phones_give_none(text: str | None) -> None:
    assert normalize_phone(text) is None


def test_landline_and_foreign_numbers() -> None:
    assert normalize_phone("(495) 123-45-67") == "+74951234567"
    assert normalize_phone("+49 30 1234567") == "+49301234567"
    assert normalize_phone("810 49 30 1234567") == "+49301234567"


def test_several_phones_in_one_cell_by_separator_or_whitespace_groups() -> None:
    assert split_phones("8 (916) 123-45-67, +7 (495) 123-45-67") == (
        ["+79161234567", "+74951234567"],
        [],
    )
    assert split_phones("89161234567; 84951234567") == (["+79161234567", "+74951234567"], [])
    assert split_phones("+7 916 123-45-67 8 495 123-45-67")[0] == ["+79161234567", "+74951234567"]
    assert split_phones("9161234567 9031234567")[0] == ["+79161234567", "+79031234567"]


def test_unparseable_piece_is_reported_and_the_rest_kept() -> None:
    phones, bad = split_phones("89161234567, звонить после 18")
    assert phones == ["+79161234567"]
    assert bad == ["звонить после 18"]


def test_repeated_number_in_a_cell_counts_once() -> None:
    assert split_phones("89161234567, +7 916 123 45 67")[0] == ["+79161234567"]


def test_phone_hash_is_hmac_sha256_of_e164() -> None:
    expected = hmac.new(b"k", b"+79161234567", hashlib.sha256).hexdigest()
    assert phone_hash("+79161234567", "k") == expected


def test_extensions_are_two_to_five_digits() -> None:
    assert is_extension("101") and is_extension("20001")
    assert not is_extension("1") and not is_extension("+74951112233")


SPELLINGS = [
    "89161234567", "+79161234567", "+7 (916) 123-45-67", " 8-916-123-45-67 ", "9161234567",
    "(495) 123-45-67", "+49 30 1234567", "810 49 30 1234567", "0049301234567", "+7916123456",
    "+44 20 7946 0958", "8916123456789", "101", "1035", "", "  ", "+", "+()", "++79161234567",
    "8 916 123+45 67", "anonymous", "+7\u00a0916\u00a0123\u00a045\u00a067", "\t89161234567",
    "٣٤٥٦٧٨٩٠١٢٣", "7916123456", "+8 916 123 45 67", "8.916.123.45.67", None,
]  # fmt: skip


US_SPELLINGS = [
    "(917) 555-0102", "917-555-0102", "917.555.0102", "1 917 555 0102", "19175550102",
    "+1 917 555 0102", "011 44 20 7946 0958", "0115551234", "(017) 555-0102", "89161234567",
    "+79161234567", "2125550101", "1035",
]  # fmt: skip


@pytest.mark.parametrize(
    ("plan", "spellings"), [(RUSSIA, SPELLINGS), (NORTH_AMERICA, US_SPELLINGS)]
)
def test_the_column_versions_agree_with_the_scalar_ones(plan, spellings) -> None:
    values = pl.Series("phone", spellings, dtype=pl.String)
    normalized = normalize_phone_column(values, plan)
    assert normalized.name == "phone"
    assert normalized.to_list() == [normalize_phone(v, plan) for v in spellings]
    hashed = hash_phone_column(normalized, "k")
    assert hashed.to_list() == [None if p is None else phone_hash(p, "k") for p in normalized]


@pytest.mark.parametrize(
    "text", ["(917) 555-0102", "917-555-0102", "917.555.0102", "1 917 555 0102", "19175550102"]
)
def test_a_north_american_national_number_is_plus_one(text: str) -> None:
    assert normalize_phone(text, PLANS["US"]) == "+19175550102"
    assert normalize_phone(text, PLANS["CA"]) == "+19175550102"
    # read as Russian, the 10-digit spelling would be another client's number
    assert normalize_phone(text) in (None, "+79175550102")


def test_each_plan_reads_only_its_own_national_spellings() -> None:
    us = PLANS["US"]
    assert normalize_phone("89161234567", us) is None  # a Russian trunk spelling
    assert normalize_phone("(017) 555-0102", us) is None  # no area code begins with 0 or 1
    assert normalize_phone("011 44 20 7946 0958", us) == "+442079460958"
    assert normalize_phone("810 44 20 7946 0958", us) is None  # Russia's exit code, not NANP's
    assert normalize_phone("2125550101") is None  # a 10-digit Russian number begins 3, 4, 8, 9
    for plan in (RUSSIA, us):  # a `+` number is international in every plan
        assert normalize_phone("+7 916 123-45-67", plan) == "+79161234567"
        assert normalize_phone("+1 (212) 555-0101", plan) == "+12125550101"
    assert PLANS["KZ"] is RUSSIA


def test_split_phones_groups_north_american_numbers() -> None:
    us = PLANS["US"]
    assert split_phones("(917) 555-0102, 1 212 555 0101", us) == (
        ["+19175550102", "+12125550101"],
        [],
    )
    assert split_phones("917 555 0102 212 555 0101", us)[0] == ["+19175550102", "+12125550101"]
    cells = pl.Series("cell", ["(917) 555-0102, 212-555-0101", "1 917 555 0102", None])
    lists, bad = split_phones_column(cells, us)
    assert lists.to_list() == [["+19175550102", "+12125550101"], ["+19175550102"], None]
    assert bad == 0


CELLS = [
    "8 (916) 123-45-67, +7 (495) 123-45-67", "89161234567; 84951234567", "89161234567,",
    "+7 916 123-45-67 8 495 123-45-67", "89161234567, звонить после 18", "",
    "89161234567, +7 916 123 45 67", "89161234567,,84951234567", "101, 89161234567", None,
    "+7 977 485-33-23", "9161234567 9031234567", " 89161234567 , 84951234567 ",
]  # fmt: skip


def test_split_phones_column_agrees_with_split_phones_and_counts_bad_pieces() -> None:
    lists, bad = split_phones_column(pl.Series("cell", CELLS, dtype=pl.String))
    expected = [None if c is None else split_phones(c) for c in CELLS]
    assert lists.to_list() == [None if e is None else e[0] for e in expected]
    assert bad == sum(len(e[1]) for e in expected if e is not None)
    assert lists.name == "cell"


@pytest.mark.parametrize("key", ["", "k", "x" * 64, "ключ" * 20])
def test_keyed_hashes_match_hmac_for_any_key_length(key: str) -> None:
    assert phone_hasher(key)("+79161234567") == phone_hash("+79161234567", key)
    column = hash_phone_column(pl.Series(["+79161234567", None, "+79161234567"]), key)
    assert column.to_list() == [phone_hash("+79161234567", key), None, column[0]]
