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


def phone_hasher(key: str):
    """`phone_hash` with the key's HMAC pads computed once (same digests, ~5× faster)."""
    template = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)

    def digest(e164: str) -> str:
        mac = template.copy()
        mac.update(e164.encode("utf-8"))
        return mac.hexdigest()

    return digest


_PLAIN_NUMBER = r"^\+?[0-9]+$"


def _plain_numbers(values: pl.Expr) -> pl.Expr:
    """`normalize_phone` for values that are only ASCII digits with an optional leading
    '+', as expressions (how PBXs write numbers); other values are left to Python."""
    plus = values.str.starts_with("+")
    digits = values.str.strip_prefix("+")
    n = digits.str.len_bytes()
    first = digits.str.slice(0, 1)
    with_plus = (
        pl.when(digits.str.starts_with("7"))
        .then(pl.when(n == 11).then(pl.lit("+") + digits))
        .when((n >= 8) & (n <= 15))
        .then(pl.lit("+") + digits)
    )
    without = (
        pl.when((n == 11) & first.is_in(["7", "8"]))
        .then(pl.lit("+7") + digits.str.slice(1))
        .when((n == 10) & first.is_in(["3", "4", "8", "9"]))
        .then(pl.lit("+7") + digits)
        .when(digits.str.starts_with("810") & (n > 11) & (n <= 18))
        .then(pl.lit("+") + digits.str.slice(3))
        .when(digits.str.starts_with("00") & (n >= 10) & (n <= 17))
        .then(pl.lit("+") + digits.str.slice(2))
    )
    return pl.when(plus).then(with_plus).otherwise(without)


def normalize_phone_column(values: pl.Series) -> pl.Series:
    """Vectorized `normalize_phone`: plain digit strings as expressions, any other
    spelling once per distinct value in Python."""
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    plain = pl.col("v").str.contains(_PLAIN_NUMBER)
    frame = frame.with_columns(_plain=plain.fill_null(False))
    frame = frame.with_columns(_fast=pl.when(pl.col("_plain")).then(_plain_numbers(pl.col("v"))))
    others = frame.filter(~pl.col("_plain"))["v"].drop_nulls().unique().to_list()
    table = {value: normalize_phone(value) for value in others}
    slow = frame["v"].replace_strict(table, default=None, return_dtype=pl.String)
    result = pl.Series(values.name, frame["_fast"]).zip_with(frame["_plain"], slow)
    return result.alias(values.name)


def hash_phone_column(values: pl.Series, key: str) -> pl.Series:
    distinct = values.drop_nulls().unique().to_list()
    digest = phone_hasher(key)
    table = {value: digest(value) for value in distinct}
    return values.replace_strict(table, default=None, return_dtype=pl.String)
