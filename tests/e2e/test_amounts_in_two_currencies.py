"""An export with deals in roubles and dollars, summed in roubles (`currency: RUB`): the
won amount is the roubles' sum, never roubles plus dollars, and data_quality counts the
dollar deals left out. Expected figures are summed from the rows written here."""

from __future__ import annotations

import duckdb

from pipeline.config import load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.reliability.tiny_project import CONFIG

HEADER = "Deal,Created,Stage,Owner,Phone,Amount,Currency\n"


def test_won_amounts_in_another_currency_are_left_out_of_the_sum(tmp_path) -> None:
    text = CONFIG.replace("locales: [en]\n", "locales: [en]\ncurrency: RUB\n").replace(
        'client_phone: "Phone"}',
        'client_phone: "Phone",\n              amount: "Amount", currency: "Currency"}',
    )
    (tmp_path / "voronka.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "voronka.yaml")
    rows = [
        (f"D{n}", f"2025-01-{1 + n:02d} 10:00", "Won" if n % 2 else "New", "Anna",
         f"+7916000{n:04d}", str(1000 * (n + 1)), "USD" if n % 3 == 0 else "RUB")
        for n in range(24)
    ]  # fmt: skip
    inbox = config.inbox_dir / "crm"
    inbox.mkdir(parents=True)
    body = "".join(",".join(row) + "\n" for row in rows)
    (inbox / "deals_2025-02-01_0600.csv").write_text(HEADER + body, encoding="utf-8")
    ingest_inbox(config, settle_seconds=0)
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
