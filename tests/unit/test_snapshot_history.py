"""Stage entries inferred from consecutive amoCRM/Bitrix24 snapshots (no history file):
the rule in pipeline/transform/snapshot_history.py, on exports written by the tests.
Every test that ingests checks rows_total = rows_accepted + rows_rejected per file."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline import io
from pipeline.transform.snapshot_history import infer_stage_events, refresh_inferred_history
from tests.unit._fixtures_ingest import ingest, make_config, put

UTC = dt.UTC
AMO = """
  - name: crm
    kind: crm
    preset: amocrm
    files: "amo/deals_*"
"""
HISTORY = """
  - name: crm_log
    kind: crm_history
    history_of: crm
    preset: generic
    files: "amo/history_*.csv"
    columns: {deal_id: "ID", stage: "Этап", entered_at: "Дата"}
"""
HEADER = "ID;Дата создания сделки;Этап сделки;Воронка;Ответственный;Дата закрытия"
# Snapshots on 1, 8 and 15 March 2025, 00:00 Moscow (the date in the file name).
SNAPSHOTS = {
    "amo/deals_2025-03-01.csv": [
        "1;25.02.2025 10:00;Первичный контакт;Розница;Смирнова А.;",
        "3;20.02.2025 10:00;Замер;Розница;Петров;",
    ],
    "amo/deals_2025-03-08.csv": [
        "1;25.02.2025 10:00;Переговоры;Розница;Смирнова А.;",  # skipped «Замер»
        "2;03.03.2025 12:00;Замер;Розница;Петров;",  # new since the last export
    ],  # deal 3 is missing from this export
    "amo/deals_2025-03-15.csv": [
        "1;25.02.2025 10:00;Переговоры;Розница;Смирнова А.;",  # unchanged
        "2;03.03.2025 12:00;Успешно реализовано;Розница;Петров;10.03.2025 15:00",
        "3;20.02.2025 10:00;Первичный контакт;Розница;Петров;",  # moved back
    ],
}
MARCH_1, MARCH_8, MARCH_15 = (
    dt.datetime(2025, 2, 28, 21, 0, tzinfo=UTC),
    dt.datetime(2025, 3, 7, 21, 0, tzinfo=UTC),
    dt.datetime(2025, 3, 14, 21, 0, tzinfo=UTC),
)
EXPECTED = [
    # deal, stage, entered_at, entered_after
    ("1", "Первичный контакт", MARCH_1, dt.datetime(2025, 2, 25, 7, 0, tzinfo=UTC)),
    ("1", "Переговоры", MARCH_8, MARCH_1),
    ("2", "Замер", MARCH_8, dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
    ("2", "Успешно реализовано", dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC), MARCH_8),
    ("3", "Замер", MARCH_1, dt.datetime(2025, 2, 20, 7, 0, tzinfo=UTC)),
    ("3", "Первичный контакт", MARCH_15, MARCH_1),
]


def csv(rows: list[str]) -> str:
    return "\r\n".join([HEADER, *rows]) + "\r\n"


def table(config, name: str) -> pl.DataFrame:
    """A landing table as dbt sees it: every part, in every month folder."""
    return io.read_table(config.landing_dir, name)


def inferred(config) -> list[tuple]:
    events = table(config, "crm_stage_events").sort("deal_id", "entered_at")
    assert not events["is_exact"].any()
    return events.select("deal_id", "stage", "entered_at", "entered_after").rows()


def test_consecutive_snapshots_give_inferred_entries_and_a_skipped_stage_is_not_entered(
    tmp_path,
) -> None:
    config = make_config(tmp_path, AMO)
    for name, rows in SNAPSHOTS.items():
        put(config, name, csv(rows))
    summary = ingest(config)
    assert [f.rows_accepted for f in summary.files] == [2, 2, 3]
    assert refresh_inferred_history(config) == {"crm": 6}
    assert inferred(config) == EXPECTED
    events = table(config, "crm_stage_events")
    assert "Замер" not in events.filter(pl.col("deal_id") == "1")["stage"].to_list()
    managers = events.filter(pl.col("deal_id") == "1")["manager"].unique().to_list()
    assert managers == ["Смирнова Анна"]


def test_inferred_entries_belong_to_the_later_snapshots_file(tmp_path) -> None:
    config = make_config(tmp_path, AMO)
    for name, rows in SNAPSHOTS.items():
        put(config, name, csv(rows))
    summary = ingest(config)
    refresh_inferred_history(config)
    file_of = {f.path: f.file_id for f in summary.files}
    events = table(config, "crm_stage_events")
    moved = events.filter((pl.col("deal_id") == "1") & (pl.col("stage") == "Переговоры"))
    assert moved["file_id"].to_list() == [file_of["amo/deals_2025-03-08.csv"]]


def test_a_late_older_snapshot_gives_the_same_entries_as_in_order(tmp_path) -> None:
    config = make_config(tmp_path, AMO)
    names = list(SNAPSHOTS)
    for name in (names[0], names[2]):
        put(config, name, csv(SNAPSHOTS[name]))
    ingest(config)
    refresh_inferred_history(config)
    put(config, names[1], csv(SNAPSHOTS[names[1]]))  # the 8 March export arrives last
    ingest(config)
    refresh_inferred_history(config)
    assert inferred(config) == EXPECTED


def test_xlsx_and_csv_snapshots_of_one_source_mix(tmp_path) -> None:
    import xlsxwriter

    config = make_config(tmp_path, AMO)
    names = list(SNAPSHOTS)
    put(config, names[0], csv(SNAPSHOTS[names[0]]))
    path = config.inbox_dir / names[1].replace(".csv", ".xlsx")
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, line in enumerate([HEADER, *SNAPSHOTS[names[1]]]):
        sheet.write_row(r, 0, line.split(";"))
    book.close()
    put(config, names[2], csv(SNAPSHOTS[names[2]]))
    ingest(config)
    refresh_inferred_history(config)
    assert inferred(config) == EXPECTED


def test_a_history_file_adds_exact_entries_beside_the_snapshot_ones(tmp_path) -> None:
    """An events export may cover only part of the deals (its date range): the snapshots'
    entries stay, and downstream an exact entry into a stage wins over their bounds."""
    config = make_config(tmp_path, AMO)
    for name, rows in SNAPSHOTS.items():
        put(config, name, csv(rows))
    ingest(config)
    refresh_inferred_history(config)
    assert table(config, "crm_stage_events").height == 6
    config = make_config(tmp_path, AMO + HISTORY)  # a history file is configured later
    put(config, "amo/history_1.csv", "ID;Этап;Дата\n1;Замер;03.03.2025 10:00\n")
    ingest(config)
    assert refresh_inferred_history(config) == {"crm": 6}
    events = table(config, "crm_stage_events")
    assert events.filter(pl.col("is_exact")).select("deal_id", "stage").rows() == [("1", "Замер")]
    assert events.filter(~pl.col("is_exact")).height == 6


def test_inferred_entries_land_in_the_month_folders_of_entered_at(tmp_path) -> None:
    """A file's inferred entries are split by the UTC month of entered_at (a close inside
    the interval can fall in the month before the snapshot); replacing them by exact
    history removes them from every month."""
    config = make_config(tmp_path, AMO)
    put(config, "amo/deals_2025-03-01.csv", csv(SNAPSHOTS["amo/deals_2025-03-01.csv"]))
    later = [
        "1;25.02.2025 10:00;Переговоры;Розница;Смирнова А.;",  # moved: entered 4 April
        "3;20.02.2025 10:00;Успешно реализовано;Розница;Петров;28.03.2025 15:00",  # won in March
    ]
    put(config, "amo/deals_2025-04-05.csv", csv(later))
    summary = ingest(config)
    refresh_inferred_history(config)
    landing = config.landing_dir
    first, second = (f.file_id for f in summary.files)

    def months(table: str, file_id: str) -> list[str]:
        return sorted(p.parent.name for p in io.file_parts(landing, table, file_id))

    # 1 March 00:00 in Moscow is 28 February in UTC: partitions are UTC months.
    assert months("crm_deals", first) == ["month=2025-02"]
    assert months("crm_deals", second) == ["month=2025-04"]
    assert months("crm_stage_events", first) == ["month=2025-02"]
    assert months("crm_stage_events", second) == ["month=2025-03", "month=2025-04"]
    assert table(config, "crm_stage_events").height == 4

    # A later refresh rewrites the same parts: the same months, the same rows.
    refresh_inferred_history(config)
    assert months("crm_stage_events", first) == ["month=2025-02"]
    assert months("crm_stage_events", second) == ["month=2025-03", "month=2025-04"]
    assert table(config, "crm_stage_events").height == 4


def test_bitrix24_snapshots_infer_entries_too(tmp_path) -> None:
    config = make_config(tmp_path, AMO.replace("amocrm", "bitrix24"))
    header = "ID;Дата создания;Стадия сделки;Воронка;Ответственный"
    put(config, "amo/deals_2025-03-01.csv", f"{header}\n5;27.02.2025 10:00;Новая;Розница;Петров\n")
    put(
        config,
        "amo/deals_2025-03-08.csv",
        f"{header}\n5;27.02.2025 10:00;Сделка успешна;Розница;Петров\n",
    )
    ingest(config)
    refresh_inferred_history(config)
    events = inferred(config)
    assert [(deal, stage) for deal, stage, *_ in events] == [
        ("5", "Новая"),
        ("5", "Сделка успешна"),
    ]
    # Bitrix24 writes no close time here: the won stage is entered at the later snapshot.
    assert events[1][2:] == (MARCH_8, MARCH_1)


def deal(deal_id, stage, at, created, *, status="open", closed=None, file_id="f", pipe="P"):
    return {
        "source": "crm",
        "deal_id": deal_id,
        "crm_pipeline": pipe,
        "stage": stage,
        "status": status,
        "created_at": created,
        "closed_at": closed,
        "manager": None,
        "snapshot_at": at,
        "file_id": file_id,
    }


def test_pure_rule_pipeline_change_and_same_time_files() -> None:
    t0, t1 = dt.datetime(2025, 3, 1, tzinfo=UTC), dt.datetime(2025, 3, 8, tzinfo=UTC)
    created = dt.datetime(2025, 2, 1, tzinfo=UTC)
    rows = [
        deal("1", "Новая", t0, created, file_id="a", pipe="Розница"),
        deal("1", "Новая", t1, created, file_id="b", pipe="Опт"),  # same stage, other pipeline
        deal("2", "A", t1, created, file_id="b"),
        deal("2", "B", t1, created, file_id="c"),  # two files at one time: the larger file_id
    ]
    frame = pl.DataFrame(rows, schema_overrides={"closed_at": pl.Datetime("us", "UTC")})
    events = infer_stage_events(frame).sort("deal_id", "entered_at")
    assert events.select("deal_id", "stage", "entered_at", "file_id").rows() == [
        ("1", "Новая", t0, "a"),
        ("1", "Новая", t1, "b"),
        ("2", "B", t1, "c"),
    ]
