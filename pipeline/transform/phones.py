"""Phone numbers → E.164, the join key between calls and deals, and their keyed hash.

Russian numbers come as `8XXXXXXXXXX`, `7XXXXXXXXXX`, `+7 (XXX) XXX-XX-XX` or a bare
10-digit national number; one CRM cell may hold several numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import polars as pl

_ALLOWED = re.compile(r"^\+?[\d\s().\-\u00a0\u202f]+$")
_NON_DIGIT = re.compile(r"\D")
_CELL_SEPARATORS = re.compile(r"[,;/\n\r]+")
_EXTENSION = re.compile(r"^\d{2,5}$")


def normalize_phone(text: str | None) -> str | None:
    """One phone in any local spelling → `+<digits>`; None when it is not a phone."""
    if text is None:
        return None
    value = text.strip()
    if not value or not _ALLOWED.match(value):
        return None
    digits = _NON_DIGIT.sub("", value)
    if value.startswith("+"):
        if digits.startswith("7"):
            return "+" + digits if len(digits) == 11 else None
        return "+" + digits if 8 <= len(digits) <= 15 else None
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10 and digits[0] in "3489":
        return "+7" + digits
    if digits.startswith("810") and 11 < len(digits) <= 18:  # Russian international prefix
        return "+" + digits[3:]
    if digits.startswith("00") and 10 <= len(digits) <= 17:
        return "+" + digits[2:]
    return None


def is_extension(text: str | None) -> bool:
    """An internal PBX number: 2–5 digits."""
    return bool(text) and bool(_EXTENSION.match(text.strip()))


def split_phones(cell: str | None) -> tuple[list[str], list[str]]:
    """A cell with one or more phones → (E.164 numbers in order, pieces that are not phones).

    Numbers are separated by `,` `;` `/` or newlines, or simply follow each other as
    whitespace-separated groups (`+7 916 123-45-67 8 495 123-45-67`).
    """
    phones: list[str] = []
    bad: list[str] = []
    if not cell:
        return phones, bad
    for piece in _CELL_SEPARATORS.split(cell):
        piece = piece.strip()
        if not piece:
            continue
        single = normalize_phone(piece)
        if single:
            phones.append(single)
            continue
        found, rest = _split_groups(piece.split())
        phones.extend(found)
        if rest:
            bad.append(rest)
    return _unique(phones), bad


def _split_groups(tokens: list[str]) -> tuple[list[str], str]:
    """Greedily join whitespace tokens into phones; returns the phones and any leftover text."""
    phones: list[str] = []
    group: list[str] = []
    for index, token in enumerate(tokens):
        group.append(token)
        joined = " ".join(group)
        digits = len(_NON_DIGIT.sub("", joined))
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        phone = normalize_phone(joined)
        complete = digits >= 11 or (digits == 10 and joined.lstrip("+(")[:1] not in "78")
        if phone and (complete or following is None or following.startswith("+")):
            phones.append(phone)
            group = []
        elif digits > 15:
            return phones, " ".join([*group, *tokens[index + 1 :]])
    return phones, " ".join(group)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def phone_hash(e164: str, key: str) -> str:
    """HMAC-SHA256 of an E.164 number: what marts carry instead of the phone."""
    return hmac.new(key.encode("utf-8"), e164.encode("utf-8"), hashlib.sha256).hexdigest()


def normalize_phone_column(values: pl.Series) -> pl.Series:
    """Vectorized `normalize_phone`, computed once per distinct value."""
    distinct = values.drop_nulls().unique().to_list()
    table = {value: normalize_phone(value) for value in distinct}
    return values.replace_strict(table, default=None, return_dtype=pl.String)


def hash_phone_column(values: pl.Series, key: str) -> pl.Series:
    distinct = values.drop_nulls().unique().to_list()
    table = {value: phone_hash(value, key) for value in distinct}
    return values.replace_strict(table, default=None, return_dtype=pl.String)
