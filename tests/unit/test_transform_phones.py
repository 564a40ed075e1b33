"""Phones → E.164: every Russian local spelling gives the same join key."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from pipeline.transform.phones import is_extension, normalize_phone, phone_hash, split_phones


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
