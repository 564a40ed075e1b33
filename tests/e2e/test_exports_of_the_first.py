"""Monthly exports taken at 00:00 on the 1st (`deals_2026-10-01.csv`: a bare date is 00:00
local) show what changed in the month that ended then.

A stage an export first shows was entered before the export: the period view counts it in
the month of the second before the export's time, and a close no file dates (a deal first
shown won or lost) counts there in revenue and lost reasons. Exact times (creations, a
close date, even one at the export's very instant; a deal created at the instant of the
export that first shows it) count in their own month. Before, everything the export of 1
October showed counted in October: the October report showed September's moves.
Expected from the rows written here, counted in plain Python, in two zones."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter

import duckdb
import pytest

from pipeline.config import load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.reliability.tiny_project import CONFIG

HEADER = "Deal,Created,Stage,Owner,Phone,Closed\n"
STAGES = {"New": 1, "Talks": 2}  # the funnel's stages; status won is stage 3 (`won`)
KEYS = {1: "lead", 2: "talks", 3: "won"}
# file (its snapshot: 00:00 local of the date) → rows (deal, created, stage, close date)
EXPORTS = {
    "deals_2026-09-01.csv": [
        ("A", "2026-08-10 10:00", "New", ""),
        ("B", "2026-08-12 10:00", "Talks", ""),
        ("E", "2026-08-20 10:00", "New", ""),
        ("F", "2026-08-25 10:00", "New", ""),
    ],
    "deals_2026-10-01.csv": [
        ("A", "2026-08-10 10:00", "Talks", ""),
        ("B", "2026-08-12 10:00", "Lost", ""),
        ("C", "2026-09-15 10:00", "Won", "2026-09-30 23:30"),
        ("D", "2026-10-01 00:00", "New", ""),
        ("E", "2026-08-20 10:00", "Won", ""),  # skipped Talks: implied at the win
        # won at the export's very instant (a close date without a time), undone later
        ("F", "2026-08-25 10:00", "Won", "2026-10-01 00:00"),
        # created at the export's instant and shown won there: the bounds meet
        ("G", "2026-10-01 00:00", "Won", ""),
    ],
    "deals_2026-11-01.csv": [
        ("A", "2026-08-10 10:00", "Won", ""),
        ("B", "2026-08-12 10:00", "Lost", ""),
        ("C", "2026-09-15 10:00", "Won", "2026-09-30 23:30"),
        ("D", "2026-10-01 00:00", "New", ""),
        ("E", "2026-08-20 10:00", "Won", ""),
        ("F", "2026-08-25 10:00", "Talks", ""),
        ("G", "2026-10-01 00:00", "Won", ""),
    ],
}
TIME = "%Y-%m-%d %H:%M"


def expected(zone: str) -> tuple[Counter, Counter, Counter]:
    """(period entities by (month, stage), won deals by month, lost deals by month): each
    stage at its first entry, an entry known by its bounds in the month of the second
    before its upper bound, an exact one in its own; earlier stages implied at a later
    one's entry."""
    tz = zoneinfo.ZoneInfo(zone)

    def local(text: str) -> dt.datetime:
        return dt.datetime.strptime(text, TIME).replace(tzinfo=tz)

    def month(moment: dt.datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-01")

    period, won, lost = Counter(), Counter(), Counter()
    sightings: dict[str, list] = {}
    for name in sorted(EXPORTS):  # the names sort by snapshot time
        taken = local(name.removeprefix("deals_").removesuffix(".csv") + " 00:00")
        for deal, created, stage, closed in EXPORTS[name]:
            sightings.setdefault(deal, []).append((taken, local(created), stage, closed))
    for seen in sightings.values():
        reached = {1: month(seen[0][1])}  # creation: the first stage, exact
        closed_month = None
        for number, (taken, created, stage, closed) in enumerate(seen):
            if number and stage == seen[number - 1][2]:
                continue  # unchanged: no entry
            order = 3 if stage in ("Won", "Lost") else STAGES[stage]
            after = seen[number - 1][0] if number else created  # the entry's lower bound
            if closed:
                when = month(local(closed))  # a close date: exact
            elif after >= taken:
                when = month(taken)  # the bounds meet: exact
            else:
                when = month(taken - dt.timedelta(seconds=1))
            if stage in ("Won", "Lost") and closed_month is None:
                closed_month = when
            if stage == "Lost":
                continue  # lost is no stage
            for earlier in range(1, order + 1):  # implied reach: at this entry
                reached.setdefault(earlier, when)
        for order, when in reached.items():
            period[(when, KEYS[order])] += 1
        last = seen[-1][2]
        if last == "Won":
            won[closed_month] += 1
        elif last == "Lost":
            lost[closed_month] += 1
    return period, won, lost


def _site(folder, zone: str):
    folder.mkdir()
    text = CONFIG.replace('client_phone: "Phone"}', 'client_phone: "Phone", closed_at: "Closed"}')
    text = text.replace("timezone: Europe/Moscow", f"timezone: {zone}")
    text = text.replace('crm_stages: [{name: "New"}]}', 'crm_stages: [{name: "New"}]}\n'
                        '      - {key: talks, name: {ru: "Переговоры", en: "Talks"}, '
                        'crm_stages: [{name: "Talks"}]}')  # fmt: skip
    (folder / "voronka.yaml").write_text(text, encoding="utf-8")
    config = load_config(folder / "voronka.yaml")
    (config.inbox_dir / "crm").mkdir(parents=True)
    for name, rows in EXPORTS.items():
        lines = "".join(f"{d},{c},{s},Anna,+7916000000{i},{x}\n" for i, (d, c, s, x) in
                        enumerate(rows))  # fmt: skip
        (config.inbox_dir / "crm" / name).write_text(HEADER + lines, encoding="utf-8")
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    return config


@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/New_York"])
def test_what_an_export_of_the_first_shows_counts_in_the_month_before(tmp_path, zone) -> None:
    config = _site(tmp_path / "site", zone)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        period = con.execute(
            "select strftime(month, '%Y-%m-%d'), stage_key, entities"
            " from marts.funnel_stage_monthly"
            " where view = 'period' and segment_type = 'total' and entities > 0"
        ).fetchall()
        won = con.execute(
            "select strftime(month, '%Y-%m-%d'), won_deals from marts.revenue_monthly"
            " where segment_type = 'total' and won_deals > 0"
        ).fetchall()
        lost = con.execute(
            "select strftime(month, '%Y-%m-%d'), sum(deals) from marts.lost_reasons"
            " where segment_type = 'total' group by 1"
        ).fetchall()
    want_period, want_won, want_lost = expected(zone)
    assert Counter({(m, s): n for m, s, n in period}) == want_period
    assert Counter(dict(won)) == want_won
    assert Counter(dict(lost)) == want_lost
    # What the rule changes here, said plainly: A's talks (1 October's export) in September,
    # its win (1 November's) in October; E's win and implied talks in September (C's
    # talks too, implied at its close date); F's win, at 00:00 on 1 October, in October,
    # and G's, created and shown won at that instant, too.
    assert want_period[("2026-09-01", "talks")] == 3 and want_won["2026-10-01"] == 2
    assert want_period[("2026-10-01", "won")] == 3  # A, F and G
