"""Amount text → numbers: comma decimals, thousands grouped by space/NBSP/narrow NBSP,
currency marks (`₽`, `руб.`, `р.`) dropped and reported as RUB, and a money field's
`<amount>|<ISO code>` (Bitrix24's `10000|RUB`, `1500.50|USD`) read as the amount in that
currency."""

from __future__ import annotations

import polars as pl

RUBLE_MARKS = r"(?i)(₽|руб\.?|р\.|\brub\b)"
_GROUPING = r"[\s\u00a0\u202f']"
CODED_CURRENCY = r"\s*\|\s*([A-Za-z]{3})\s*$"  # `10000|RUB`: a money field's amount|currency


def expected_amount(decimal: str) -> str:
    return "a number like 1 234 567,00" if decimal == "," else "a number like 1,234,567.00"


def parse_amounts(values: pl.Series, decimal: str) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Strings → (Float64 amounts, problem text, currency from a code or mark, or null).
    Each step is its own column (an expression used twice in one step is evaluated twice),
    and a step no value needs is left out: marks are removed only when a value holds one,
    problem text made only when a value is not a number."""
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
    frame = frame.with_columns(bare=bare.str.replace_all(_GROUPING, ""))
    bare = pl.col("bare")
    if decimal == ",":
        # `1.234.567,00` groups by dots; a lone dot (`1234.5`, an XLSX number) is a decimal point.
        comma = bare.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
        frame = frame.with_columns(bare=pl.when(bare.str.contains(",")).then(comma).otherwise(bare))
    else:
        frame = frame.with_columns(bare=bare.str.replace_all(",", "", literal=True))
    frame = frame.with_columns(amount=bare.cast(pl.Float64, strict=False))
    amount = pl.col("amount")
    frame = frame.with_columns(amount=pl.when(amount.is_finite()).then(amount))
    failed = pl.col("text").is_not_null() & amount.is_null()
    problem = pl.lit(None, dtype=pl.String)
    if frame.select(failed.any()).item():
        problem = pl.when(failed).then(pl.format("'{}' is not a number", "text"))
    ruble = pl.when(pl.col("marked")).then(pl.lit("RUB")) if marked else pl.lit(None, pl.String)
    currency = pl.coalesce("coded", ruble)
    out = frame.select("amount", problem=problem, currency=currency)
    return out["amount"], out["problem"], out["currency"]
