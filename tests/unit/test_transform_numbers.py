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


def test_the_column_shows_its_decimal_mark_and_never_misreads_the_other_style() -> None:
    # No formats.decimal: `3,200.50` and `1,234,567` write a decimal point, so `1,500` is
    # 1500 beside them.
    english = pl.Series(["1,500", "3,200.50", "4500", "1,234,567", "-1,200.00"])
    amount, _, _ = parse_amounts(english, None)
    assert amount.to_list() == [1500.0, 3200.5, 4500.0, 1234567.0, -1200.0]
    # `1500,00` and `1.234.567` write a decimal comma: `1,500` is 1.5, `1.500` 1500.
    russian = pl.Series(["1,500", "1500,00", "1.234.567", "1.500"])
    assert parse_amounts(russian, None)[0].to_list() == [1.5, 1500.0, 1234567.0, 1500.0]
    # Both styles in one column: only what reads one way is read (never 3,200.50 → 3.2005).
    mixed = pl.Series(["3,200.50", "1500,00", "4500"])
    amount, problem, _ = parse_amounts(mixed, None)
    assert amount.to_list() == [None, None, 4500.0]
    assert problem.to_list()[:2] == ["'3,200.50' is not a number", "'1500,00' is not a number"]


def test_a_value_that_reads_both_ways_is_refused_unless_something_says_which() -> None:
    ambiguous = pl.Series(["1,500", "4500", ""])
    amount, problem, _ = parse_amounts(ambiguous, None)
    assert amount.to_list() == [None, 4500.0, None]
    assert problem[0] == "'1,500' could be 1.5 or 1500: set the source's formats.decimal"
    assert parse_amounts(ambiguous, ",")[0].to_list() == [1.5, 4500.0, None]  # configured
    assert parse_amounts(ambiguous, ".")[0].to_list() == [1500.0, 4500.0, None]
    assert parse_amounts(ambiguous, None, ".")[0].to_list() == [1500.0, 4500.0, None]  # preset
    # The configured mark refuses the other style rather than misreading it.
    assert parse_amounts(pl.Series(["12 500,00"]), ".")[1].to_list() == [
        "'12 500,00' is written in the other style: expected a number like 1,234,567.00 "
        "(the column's; formats.decimal)"
    ]
    assert parse_amounts(pl.Series(["3,200.50"]), ",")[0].to_list() == [None]


def test_a_dot_grouping_thousands_is_read_so_with_a_decimal_comma() -> None:
    # `1.500` with a decimal comma is 1500 (configured, or the column's `2 000,50` says so;
    # it was read as 1.5), and with nothing to say which it is refused like `1,500`;
    # `1500.75`, which only a decimal point writes, reads so in either style.
    values = pl.Series(["2 000,50", "1.500", "1500.75"])
    assert parse_amounts(values, ",")[0].to_list() == [2000.5, 1500.0, 1500.75]
    assert parse_amounts(values, None)[0].to_list() == [2000.5, 1500.0, 1500.75]
    assert parse_amounts(pl.Series(["1.500"]), ",")[0].to_list() == [1500.0]
    alone, problem, _ = parse_amounts(pl.Series(["1.500", "700"]), None)
    assert alone.to_list() == [None, 700.0]
    assert problem[0] == "'1.500' could be 1.5 or 1500: set the source's formats.decimal"
    assert parse_amounts(pl.Series(["1.500"]), ".")[0].to_list() == [1.5]
    assert parse_amounts(pl.Series(["1.500"]), None, ".")[0].to_list() == [1.5]  # preset


def test_a_money_field_in_english_numbers_keeps_its_thousands() -> None:
    values = pl.Series(["30,000.00|USD", "5,000|usd", "2,700,000.00|USD"])
    amount, problem, currency = parse_amounts(values, None, ".")
    assert amount.to_list() == [30000.0, 5000.0, 2700000.0]
    assert currency.to_list() == ["USD"] * 3
    assert problem.to_list() == [None] * 3
