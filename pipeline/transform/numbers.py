"""Amount text → numbers: thousands grouped by space/NBSP/narrow NBSP/apostrophe, by
commas (`1,234,567.50`) or by dots (`1.234.567,50`), a decimal comma or point, currency
marks (`₽`, `руб.`, `р.`) dropped and reported as RUB, and a money field's
`<amount>|<ISO code>` (Bitrix24's `10000|RUB`, `30,000.00|USD`) read as the amount in
that currency.

Which of `,` and `.` is the decimal mark is the source's `formats.decimal` where it is
configured; otherwise the column shows it: a value only one style writes (`1500,00`,
`1.234,5`: comma; `3,200.50`, `1,234,567`: point) decides for the whole column, and where
none does, the preset's (a point for vendors that write English numbers). A value written
in the other style than the column's is rejected, never misread (`3,200.50` read with a
decimal comma was 3.2005), and so are `1,500` and `1.500` when nothing says whether they
are 1.5 or 1500 (with a decimal comma `1.500` is 1500: it was read as 1.5). A plain number
with a point only a decimal point writes (`1234.5`) reads so in either style."""

from __future__ import annotations

import polars as pl

RUBLE_MARKS = r"(?i)(₽|руб\.?|р\.|\brub\b)"
_GROUPING = r"[\s\u00a0\u202f']"
CODED_CURRENCY = r"\s*\|\s*([A-Za-z]{3})\s*$"  # `10000|RUB`: a money field's amount|currency
_PLAIN = r"^[+-]?\d+(\.\d+)?$"  # 1500, 1500.5 (a lone point: a decimal point, but for 1.500)
_POINT_STYLE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"  # 1,234,567 / 3,200.50
_EITHER = r"^[+-]?\d{1,3},\d{3}$"  # 1,500: 1.5 or 1500
_COMMA_STYLE = r"^[+-]?(\d+,\d+|\d{1,3}(\.\d{3})+(,\d+)?)$"  # 1500,00 / 1.234.567 / 1.234,5
_DOT_GROUPED = r"^[+-]?\d{1,3}(\.\d{3}){2,}(,\d+)?$|^[+-]?\d{1,3}\.\d{3},\d+$"  # 1.234.567
_ONE_DOT_GROUP = r"^[+-]?\d{1,3}\.\d{3}$"  # 1.500: 1500 beside 1.234.567, else 1.5


def expected_amount(decimal: str | None) -> str:
    if decimal is None:
        return "a number like 1 234 567,00 or 1,234,567.00 (formats.decimal says which)"
    return "a number like 1 234 567,00" if decimal == "," else "a number like 1,234,567.00"


def parse_amounts(
    values: pl.Series, decimal: str | None, fallback: str | None = None
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Strings → (Float64 amounts, problem text, currency from a code or mark, or null).
    `decimal`: "," or "." as configured, None to read it off the values, and `fallback`
    where they do not show it (module doc).
    Each step is its own column (an expression used twice in one step is evaluated twice),
    and a step no value needs is left out."""
    text = pl.col("text").str.strip_chars()
    frame = pl.DataFrame({"text": values.cast(pl.String)}).select(
        text=pl.when(text == "").then(None).otherwise(text)
    )
    frame = frame.with_columns(number="text", coded=pl.lit(None, pl.String))
    if bool(frame["text"].str.contains("|", literal=True).any()):
        frame = frame.with_columns(
            number=pl.col("text").str.replace(CODED_CURRENCY, ""),
            coded=pl.col("text").str.extract(CODED_CURRENCY, 1).str.to_uppercase(),
        )
    frame = frame.with_columns(marked=pl.col("number").str.contains(RUBLE_MARKS))
    marked = bool(frame["marked"].any())
    bare = pl.col("number").str.replace_all(RUBLE_MARKS, "") if marked else pl.col("number")
    frame = frame.with_columns(bare=bare.str.replace_all(_GROUPING, "")).with_columns(
        plain=pl.col("bare").str.contains(_PLAIN),
        either=pl.col("bare").str.contains(_EITHER),
        point_style=pl.col("bare").str.contains(_POINT_STYLE),
        comma_style=pl.col("bare").str.contains(_COMMA_STYLE),
        one_dot_group=pl.col("bare").str.contains(_ONE_DOT_GROUP),
    )
    dot_grouped = bool(frame["bare"].str.contains(_DOT_GROUPED).any())
    mode = decimal or _column_style(frame) or fallback
    frame = frame.with_columns(amount=_read(mode, dot_grouped).cast(pl.Float64, strict=False))
    amount = pl.col("amount")
    frame = frame.with_columns(amount=pl.when(amount.is_finite()).then(amount))
    failed = pl.col("text").is_not_null() & amount.is_null()
    problem = pl.lit(None, dtype=pl.String)
    if frame.select(failed.any()).item():
        problem = (
            pl.when(failed & (pl.col("either") | pl.col("one_dot_group")))
            .then(
                pl.format(
                    "'{}' could be {} or {}: set the source's formats.decimal",
                    "text",
                    *_both_readings(),
                )
            )
            .when(failed & _other_style(mode))
            .then(
                pl.format(
                    "'{}' is written in the other style: {}",
                    "text",
                    pl.lit(f"expected {expected_amount(mode)} (the column's; formats.decimal)"),
                )
            )
            .when(failed)
            .then(pl.format("'{}' is not a number", "text"))
        )
    ruble = pl.when(pl.col("marked")).then(pl.lit("RUB")) if marked else pl.lit(None, pl.String)
    currency = pl.coalesce("coded", ruble)
    out = frame.select("amount", problem=problem, currency=currency)
    return out["amount"], out["problem"], out["currency"]


def _column_style(frame: pl.DataFrame) -> str | None:
    """The decimal mark the column's values show: "." or "," where only one style appears
    in values that tell (module doc: not `1,500` or `1.500`), None where none or both do."""
    point = bool((frame["point_style"] & ~frame["either"]).any())
    comma = bool((frame["comma_style"] & ~(frame["either"] | frame["one_dot_group"])).any())
    if point != comma:
        return "." if point else ","
    return None


def _other_style(mode: str | None) -> pl.Expr:
    """A value written in the other style than the column's `mode` (none when unknown)."""
    if mode == ",":
        return pl.col("point_style")
    if mode == ".":
        return pl.col("comma_style") & ~pl.col("plain")
    return pl.lit(False)


def _read(mode: str | None, dot_grouped: bool) -> pl.Expr:
    """The number text of a value in the column's style (null where the value is written
    otherwise, or could be read either way with no style known). `dot_grouped`: the
    column groups thousands by dots, so `1.500` is 1500 there."""
    bare = pl.col("bare")
    as_point = bare.str.replace_all(",", "", literal=True)
    as_comma = bare.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
    if mode == ".":
        return pl.when(pl.col("plain")).then(bare).when(pl.col("point_style")).then(as_point)
    if mode == ",":
        # `1.500` groups thousands (1500); `1234.5` only a decimal point can write.
        plain = pl.col("plain") & ~pl.col("one_dot_group")
        return (
            pl.when(plain).then(bare).when(pl.col("comma_style") | pl.col("either")).then(as_comma)
        )
    # No style known: a point is a decimal point, but for `1.500`, which is 1500 where the
    # column groups thousands by dots (`1.234.567`) and either where it does not.
    one_dot_group = pl.col("one_dot_group")
    return (
        pl.when(pl.col("plain") & ~one_dot_group)
        .then(bare)
        .when(one_dot_group & dot_grouped)
        .then(as_comma)
    )


def _both_readings() -> tuple[pl.Expr, pl.Expr]:
    """A `1,500`'s or `1.500`'s two readings, as text: `1.5` and `1500`."""
    bare = pl.col("bare")
    as_decimal = bare.str.replace(",", ".", literal=True).cast(pl.Float64).cast(pl.String)
    return as_decimal, bare.str.replace_all(r"[.,]", "")
