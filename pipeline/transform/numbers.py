"""Amount text → numbers: comma decimals, thousands grouped by space/NBSP/narrow NBSP,
currency marks (`₽`, `руб.`, `р.`) dropped and reported as RUB."""

from __future__ import annotations

import polars as pl

RUBLE_MARKS = r"(?i)(₽|руб\.?|р\.|\brub\b)"
_GROUPING = r"[\s\u00a0\u202f']"


def expected_amount(decimal: str) -> str:
    return "a number like 1 234 567,00" if decimal == "," else "a number like 1,234,567.00"


def parse_amounts(values: pl.Series, decimal: str) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Strings → (Float64 amounts, problem text, currency inferred from a mark or null)."""
    frame = pl.DataFrame({"text": values.cast(pl.String)})
    text = pl.col("text").str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    bare = text.str.replace_all(RUBLE_MARKS, "").str.replace_all(_GROUPING, "")
    if decimal == ",":
        # `1.234.567,00` groups by dots; a lone dot (`1234.5`, an XLSX number) is a decimal point.
        bare = (
            pl.when(bare.str.contains(","))
            .then(bare.str.replace_all(r"\.", "").str.replace(",", ".", literal=True))
            .otherwise(bare)
        )
    else:
        bare = bare.str.replace_all(",", "", literal=True)
    out = frame.select(
        text=text,
        amount=bare.cast(pl.Float64, strict=False),
        currency=pl.when(text.str.contains(RUBLE_MARKS)).then(pl.lit("RUB")),
    )
    out = out.with_columns(
        amount=pl.when(pl.col("amount").is_finite()).then(pl.col("amount")),
    ).with_columns(
        problem=pl.when(pl.col("text").is_not_null() & pl.col("amount").is_null()).then(
            pl.format("'{}' is not a number", "text")
        )
    )
    return out["amount"], out["problem"], out["currency"]
