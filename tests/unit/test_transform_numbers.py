"""Amounts: comma decimals, space/NBSP/narrow-NBSP grouping, ruble marks."""

from __future__ import annotations

import polars as pl

from pipeline.transform.numbers import parse_amounts


def test_russian_amount_spellings() -> None:
    values = pl.Series(
        [
            "1 234 567,00",
            "1\u00a0234,56",
            "1\u202f234,56 ₽",
            "12 000 руб.",
            "500 р.",
            "1234.5",
            "",
            "abc",
        ]
    )
    amount, problem, currency = parse_amounts(values, ",")
    assert amount.to_list() == [1234567.0, 1234.56, 1234.56, 12000.0, 500.0, 1234.5, None, None]
    assert problem.to_list()[:7] == [None] * 7
    assert problem[7] == "'abc' is not a number"
    assert currency.to_list()[:5] == [None, None, "RUB", "RUB", "RUB"]


def test_dot_decimal_config_drops_comma_grouping() -> None:
    amount, _, _ = parse_amounts(pl.Series(["1,234,567.50"]), ".")
    assert amount.to_list() == [1234567.5]


def test_a_column_without_marks_or_bad_values_gets_null_currency_and_problems() -> None:
    # parse_amounts leaves out the mark and problem steps when no value needs them: the
    # outputs keep their length and type, all null.
    values = pl.Series(["1 200,50", None, "", "300"])
    amount, problem, currency = parse_amounts(values, ",")
    assert amount.to_list() == [1200.5, None, None, 300.0]
    assert problem.to_list() == [None] * 4
    assert currency.to_list() == [None] * 4
    assert (problem.dtype, currency.dtype) == (pl.String, pl.String)


def test_a_money_fields_amount_and_currency_code() -> None:
    # Bitrix24 writes a money field as `<amount>|<currency>`; a code of another length or a
    # bare `|` is no code, and the value is not a number.
    values = pl.Series(
        ["10000|RUB", "1 500,50 | usd", "1500.5|EUR", "12 000 руб.", "100|RUBL", "|"]
    )
    amount, problem, currency = parse_amounts(values, ",")
    assert amount.to_list() == [10000.0, 1500.5, 1500.5, 12000.0, None, None]
    assert currency.to_list() == ["RUB", "USD", "EUR", "RUB", None, None]
    assert problem.to_list()[:4] == [None] * 4
    assert problem.to_list()[4:] == ["'100|RUBL' is not a number", "'|' is not a number"]
