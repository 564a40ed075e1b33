"""An export with deals in roubles and dollars, summed in roubles (`currency: RUB`): the
won amount is the roubles' sum, never roubles plus dollars, and data_quality counts the
dollar deals left out. Expected figures are summed from the rows written here. Without
the key the build refuses to add the two currencies up, naming them and the key; amounts
in one currency build without it, and so do two funnels each in its own currency (the
acceptance project's, tests/acceptance)."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.config import Config, load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import BuildError, build_warehouse
from tests.reliability.tiny_project import CONFIG

HEADER = "Deal,Created,Stage,Owner,Phone,Amount,Currency\n"


def _deals(currency_of) -> list[tuple[str, ...]]:
    """24 deals, every other one won, the n-th in currency_of(n)."""
    return [
        (f"D{n}", f"2025-01-{1 + n:02d} 10:00", "Won" if n % 2 else "New", "Anna",
         f"+7916000{n:04d}", str(1000 * (n + 1)), currency_of(n))
        for n in range(24)
    ]  # fmt: skip


def _ingested(folder, rows, currency_key: str = "") -> Config:
    """The tiny project with `rows` as its deals export, ingested; `currency_key` the
    config's `currency:` line if any."""
    text = CONFIG.replace("locales: [en]\n", "locales: [en]\n" + currency_key).replace(
        'client_phone: "Phone"}',
        'client_phone: "Phone",\n              amount: "Amount", currency: "Currency"}',
    )
    (folder / "voronka.yaml").write_text(text, encoding="utf-8")
    config = load_config(folder / "voronka.yaml")
    inbox = config.inbox_dir / "crm"
    inbox.mkdir(parents=True)
    body = "".join(",".join(row) + "\n" for row in rows)
    (inbox / "deals_2025-02-01_0600.csv").write_text(HEADER + body, encoding="utf-8")
    ingest_inbox(config, settle_seconds=0)
    return config


def test_won_amounts_in_another_currency_are_left_out_of_the_sum(tmp_path) -> None:
    rows = _deals(lambda n: "USD" if n % 3 == 0 else "RUB")
    config = _ingested(tmp_path, rows, "currency: RUB\n")
    build_warehouse(config)

    won = [row for row in rows if row[2] == "Won"]
    roubles = sum(int(row[5]) for row in won if row[6] == "RUB")
    dollars = [row for row in rows if row[6] == "USD"]
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        revenue = con.execute(
            "select won_deals, won_amount from marts.revenue_monthly "
            "where segment_type = 'total' and won_deals > 0"
        ).fetchall()
        left_out = con.execute(
            "select detail, sum(value) from marts.data_quality "
            "where metric = 'amounts_other_currency' group by detail"
        ).fetchall()
    assert revenue == [(len(won), roubles)]
    assert left_out == [("USD", len(dollars))]


def test_amounts_in_two_currencies_without_the_key_fail_the_build_naming_both(tmp_path) -> None:
    rows = _deals(lambda n: "usd" if n % 3 == 0 else "RUB")
    config = _ingested(tmp_path, rows)
    with pytest.raises(BuildError) as failed:
        build_warehouse(config)
    dollars = sum(1 for row in rows if row[6] == "usd")
    message = str(failed.value)
    assert f"RUB: {len(rows) - dollars} deal(s), USD: {dollars} deal(s)" in message, message
    assert "the funnel 'sales'" in message and "sets no `currency:`" in message
    assert not config.warehouse_path.exists()


def test_amounts_in_one_currency_need_no_key(tmp_path) -> None:
    rows = _deals(lambda n: "RUB" if n % 2 else "")
    config = _ingested(tmp_path, rows)
    build_warehouse(config)
    won = sum(int(row[5]) for row in rows if row[2] == "Won")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        revenue = con.execute(
            "select sum(won_amount) from marts.revenue_monthly where segment_type = 'total'"
        ).fetchall()
    assert revenue == [(won,)]
