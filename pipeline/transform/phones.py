"""Phone numbers → E.164, the join key between calls and deals, and their keyed hash.

A number with `+` is international. Any other spelling is read by the site's numbering
plan (`phone_country` in voronka.yaml, NumberingPlan): in Russia `8XXXXXXXXXX`,
`7XXXXXXXXXX` or a bare 10-digit national number, in the US `1XXXXXXXXXX` or
`(XXX) XXX-XXXX`; one CRM cell may hold several numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class NumberingPlan:
    """How a country's numbers are written without `+`: an 11-digit number is a trunk
    digit and the 10-digit national number; a bare national number begins with one of
    `national_first`; an international prefix (`exits`: prefix, least and most digits with
    it) comes before a number with its country code."""

    code: str  # the country calling code
    trunk: str  # the digits an 11-digit national spelling may begin with
    national_first: str  # the digits a bare 10-digit national number may begin with
    exits: tuple[tuple[str, int, int], ...]


RUSSIA = NumberingPlan("7", "78", "3489", (("810", 12, 18), ("00", 10, 17)))
# The North American Numbering Plan: area codes begin with 2–9; 011 dials abroad.
NORTH_AMERICA = NumberingPlan("1", "1", "23456789", (("011", 12, 18),))
# voronka.yaml `phone_country` (ISO 3166 code) → its plan.
PLANS = {"RU": RUSSIA, "KZ": RUSSIA, "US": NORTH_AMERICA, "CA": NORTH_AMERICA}

_ALLOWED = re.compile(r"^\+?[\d\s().\-\u00a0\u202f]+$")
_NON_DIGIT = re.compile(r"\D")
_CELL_SEPARATORS = re.compile(r"[,;/\n\r]+")
_EXTENSION = re.compile(r"^\d{2,5}$")

# A preset that has normalised a canonical column's phones already passes them on as
# `_e164_<column>` (the E.164 of the column's stripped text, null when not a phone): the
# kind's transform then takes them instead of normalising the same values again.
E164_PREFIX = "_e164_"


def normalize_phone(text: str | None, plan: NumberingPlan = RUSSIA) -> str | None:
    """One phone in any spelling of `plan` → `+<digits>`; None when it is not a phone."""
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
    if len(digits) == 11 and digits[0] in plan.trunk:
        return "+" + plan.code + digits[1:]
    if len(digits) == 10 and digits[0] in plan.national_first:
        return "+" + plan.code + digits
    for prefix, least, most in plan.exits:
        if digits.startswith(prefix) and least <= len(digits) <= most:
            return "+" + digits[len(prefix) :]
    return None


# In text shown to people (check's rejected rows): a date or time is left alone; a run of
# digits with phone punctuation holding at least 9 digits is a phone.
_SHOWN = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d)?)?"
    r"|\d\d?\.\d\d?\.\d{2,4}(?: \d\d?:\d\d(?::\d\d)?)?)"
    r"|(?P<phone>\+?\d[\d\s().\-\u00a0]{5,}\d)"
)


def mask_phones(text: str) -> str:
    """Phone numbers in printed text with every digit but the last two as `•`: raw phones
    stay in landing, and what a terminal or a log shows leaks none."""

    def masked(match: re.Match) -> str:
        found = match.group()
        digits = sum(c.isdigit() for c in found)
        if match.group("phone") is None or digits < 9:
            return found
        out, seen = [], 0
        for char in found:
            seen += char.isdigit()
            out.append("•" if char.isdigit() and seen <= digits - 2 else char)
        return "".join(out)

    return _SHOWN.sub(masked, text)


def is_extension(text: str | None) -> bool:
    """An internal PBX number: 2–5 digits."""
    return bool(text) and bool(_EXTENSION.match(text.strip()))


def split_phones(cell: str | None, plan: NumberingPlan = RUSSIA) -> tuple[list[str], list[str]]:
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
        single = normalize_phone(piece, plan)
        if single:
            phones.append(single)
            continue
        found, rest = _split_groups(piece.split(), plan)
        phones.extend(found)
        if rest:
            bad.append(rest)
    return _unique(phones), bad


def _split_groups(tokens: list[str], plan: NumberingPlan) -> tuple[list[str], str]:
    """Greedily join whitespace tokens into phones; returns the phones and any leftover text."""
    phones: list[str] = []
    group: list[str] = []
    for index, token in enumerate(tokens):
        group.append(token)
        joined = " ".join(group)
        digits = len(_NON_DIGIT.sub("", joined))
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        phone = normalize_phone(joined, plan)
        complete = digits >= 11 or (digits == 10 and joined.lstrip("+(")[:1] not in plan.trunk)
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


_SHA256_BLOCK = 64


def _hmac_pads(key: str) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states after the key's inner and outer pads (RFC 2104): an HMAC is then
    outer.update(inner.update(message).digest()), with no per-message key work."""
    block = key.encode("utf-8")
    if len(block) > _SHA256_BLOCK:
        block = hashlib.sha256(block).digest()
    block = block.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner, outer


def phone_hasher(key: str):
    """`phone_hash` with the key's HMAC pads computed once (same digests, no per-call key work)."""
    inner, outer = _hmac_pads(key)

    def digest(e164: str) -> str:
        mac = inner.copy()
        mac.update(e164.encode("utf-8"))
        out = outer.copy()
        out.update(mac.digest())
        return out.hexdigest()

    return digest


# Spellings read as polars expressions: ASCII digits, spaces, ( ) . - and a leading '+'
# (how PBXs and most CRMs write numbers). `normalize_phone` reads any other value.
_SPELLED = r"^\+?[0-9 ().\-]+$"
_PLAIN = r"^\+?[0-9]+$"


def _spelled_e164(values: pl.Series, plan: NumberingPlan) -> tuple[pl.Series, pl.Series]:
    """`normalize_phone` for ASCII spellings, as expressions: (E.164 or null, a mask of the
    values that are such spellings — where the mask is false the E.164 is null and only
    `normalize_phone` can tell)."""
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    v = pl.col("v")
    if frame.select((v.str.starts_with(" ") | v.str.ends_with(" ")).any()).item():
        frame = frame.with_columns(v.str.strip_chars(" "))  # ASCII spaces only
    frame = frame.with_columns(_plain=v.str.contains(_PLAIN).fill_null(False))
    if frame["_plain"].all():  # digits only, as PBXs write them
        frame = frame.with_columns(_spelled=pl.col("_plain"), _d=v.str.strip_prefix("+"))
    else:
        digits = pl.when(pl.col("_plain")).then(v.str.strip_prefix("+"))
        frame = frame.with_columns(
            _spelled=v.str.contains(_SPELLED).fill_null(False),
            _d=digits.otherwise(v.str.replace_all(r"[^0-9]", "")),
        )
    d = pl.col("_d")
    frame = frame.with_columns(
        _plus=v.str.starts_with("+").fill_null(False),
        _n=d.str.len_bytes().cast(pl.Int32),
        _first=d.str.slice(0, 1),
    )
    n, plus, first = pl.col("_n"), pl.col("_plus"), pl.col("_first")
    exits = [
        ~plus & d.str.starts_with(prefix) & (n >= least) & (n <= most)
        for prefix, least, most in plan.exits
    ]
    frame = frame.with_columns(
        # +<digits>: a Russian number has 11 digits, others 8 to 15
        _p=plus & pl.when(first == "7").then(n == 11).otherwise((n >= 8) & (n <= 15)),
        # a trunk digit and the national number (8XXXXXXXXXX) → +<code>XXXXXXXXXX
        _a=~plus & (n == 11) & first.is_in(list(plan.trunk)),
        # a 10-digit national number → +<code>XXXXXXXXXX
        _b=~plus & (n == 10) & first.is_in(list(plan.national_first)),
        # an international prefix (810, 00, 011) + the number → +<number>
        **{f"_x{i}": exit for i, exit in enumerate(exits)},
    )
    a, b = pl.col("_a"), pl.col("_b")
    drop = pl.when(a).then(1)
    for i, (prefix, _, _) in enumerate(plan.exits):
        drop = drop.when(pl.col(f"_x{i}")).then(len(prefix))
    drop = drop.otherwise(0)
    prefix = pl.when(a | b).then(pl.lit("+" + plan.code)).otherwise(pl.lit("+"))
    valid = pl.col("_spelled") & pl.any_horizontal(
        pl.col("_p"), a, b, *(pl.col(f"_x{i}") for i in range(len(exits)))
    )
    out = frame.select(
        e164=pl.when(valid).then(pl.concat_str(prefix, d.str.slice(drop))),
        spelled=pl.col("_spelled"),
    )
    return out["e164"].alias(values.name), out["spelled"]


def normalize_phone_column(values: pl.Series, plan: NumberingPlan = RUSSIA) -> pl.Series:
    """Vectorized `normalize_phone`: ASCII spellings as expressions, any other value once
    per distinct value in Python."""
    e164, spelled = _spelled_e164(values, plan)
    text = values.cast(pl.String)
    others = text.filter(~spelled).drop_nulls().unique()
    if others.len() == 0:
        return e164
    slow = pl.Series([normalize_phone(value, plan) for value in others.to_list()], dtype=pl.String)
    looked_up = text.replace_strict(others, slow, default=None, return_dtype=pl.String)
    return e164.zip_with(spelled, looked_up).alias(values.name)


def normalize_phone_few(values: pl.Series, plan: NumberingPlan = RUSSIA) -> pl.Series:
    """`normalize_phone_column` of a column of few distinct values (a line, an account
    code): each distinct value once, mapped back."""
    text = values.cast(pl.String)
    distinct = text.drop_nulls().unique()
    e164 = normalize_phone_column(distinct, plan)
    return text.replace_strict(distinct, e164, default=None, return_dtype=pl.String)


def split_phones_column(cells: pl.Series, plan: NumberingPlan = RUSSIA) -> tuple[pl.Series, int]:
    """Vectorized `split_phones`: each cell's phones (a list, in order, each once; null
    for a null cell) and the number of pieces that are not phones, over all cells.

    A cell of ASCII spellings separated by commas, each one a phone, is split as
    expressions; any other cell goes through `split_phones`, once per distinct cell."""
    frame = pl.DataFrame({"cell": cells.cast(pl.String)}).with_row_index("_i")
    pieces = frame.select("_i", piece=pl.col("cell").str.split(",")).explode("piece")
    e164, _ = _spelled_e164(pieces["piece"], plan)
    pieces = pieces.with_columns(phone=e164)
    fast = pieces.group_by("_i", maintain_order=True).agg(
        fast=pl.col("phone").is_not_null().all(),
        phones=pl.col("phone").unique(maintain_order=True),
    )
    frame = frame.join(fast, on="_i", how="left", maintain_order="left").with_columns(
        fast=pl.col("fast") & pl.col("cell").is_not_null()
    )
    slow_cells = frame.filter(~pl.col("fast") & pl.col("cell").is_not_null())["cell"]
    bad = 0
    phones = pl.when(pl.col("fast")).then(pl.col("phones"))
    if slow_cells.len():
        distinct = slow_cells.unique(maintain_order=True).to_list()
        split = [split_phones(cell, plan) for cell in distinct]
        table = pl.DataFrame(
            {
                "cell": distinct,
                "_slow": [found for found, _ in split],
                "_bad": [len(rest) for _, rest in split],
            },
            schema={"cell": pl.String, "_slow": pl.List(pl.String), "_bad": pl.Int64},
        )
        frame = frame.join(table, on="cell", how="left", maintain_order="left")
        bad = int(frame.filter(~pl.col("fast"))["_bad"].sum())
        phones = phones.when(pl.col("cell").is_not_null()).then(pl.col("_slow"))
    result = frame.select(phones.alias(cells.name))[cells.name]
    return result, bad


def hash_phone_column(values: pl.Series, key: str) -> pl.Series:
    """`phone_hash` of every value (null stays null), computed once per distinct value."""
    distinct = values.cast(pl.String).drop_nulls().unique()
    inner, outer = _hmac_pads(key)
    digests = []
    for e164 in distinct.cast(pl.Binary).to_list():
        mac = inner.copy()
        mac.update(e164)
        out = outer.copy()
        out.update(mac.digest())
        digests.append(out.hexdigest())
    table = pl.DataFrame({"v": distinct, "h": pl.Series(digests, dtype=pl.String)})
    frame = values.cast(pl.String).to_frame("v")
    hashed = frame.join(table, on="v", how="left", maintain_order="left")["h"]
    return hashed.alias(values.name)
