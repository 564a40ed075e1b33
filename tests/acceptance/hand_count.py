"""Counting the acceptance corpus by hand: the funnel rules of docs/contracts.md ("Every deal
counts", "Reaching a stage", "Cohort view", "Cutoff and maturity", "Time zone") as plain
Python over the same CSV files the pipeline reads. Only the csv module, datetime and
zoneinfo; nothing from `pipeline`.

What is recorded about a deal, and counts as an entry into a funnel stage:
  1. its creation: created_at is an entry into the funnel's FIRST stage;
  2. exact entries: rows of a history file, filled stage-date columns;
  3. each export (snapshot) that shows it: its stage was entered at some time in
     (previous sighting of the deal, or created_at for the first sighting; snapshot time].
     Such an entry counts at its LOWER bound — but only for a funnel stage the deal has
     no exact entry into (an exact time is better knowledge than a bound);
  4. won at closed_at (a `crm_status: won` stage).
A raw CRM stage becomes a funnel stage through the funnel's `crm_stages` names, compared as
written (after trimming); unmapped names count nowhere.

Cohorts: anchor = the earliest of those entries; cohort month = the anchor's month in the
business zone. Reach `implied`: the deal reached stage k if it has an entry into stage k or
any later stage at most window_days after the anchor. Counted per cohort month and stage,
in total and per manager (the configured name an alias or spelling stands for; no manager:
"(unknown)"). Only mature months are compared: (first day of the next month, local) +
window_days <= cutoff, local; cutoff = the latest time any file states (creation, closing,
history entry, snapshot, call). Period view: a stage is reached at the earliest latest time
of an entry into it or a later stage (an export's sighting at the export's time), counted
in that month, every month. Stage durations: from a stage's reach to the next's, over
the entities that went on whose two reach times are exact (earliest = latest, and the stage
itself entered, not only implied): converted, converted_timed, median days. Revenue: the
deals won by their latest export, by the month of closed_at, with their amounts summed;
the sales cycle: the days from such a deal's anchor to closed_at (median, 80th percentile).

Calls (a shape with a call log; docs/contracts.md "Entities", "Calls"): a call counts for a
call stage when it is on the funnel's lines, comes from a phone, and matches the stage's
direction and answered; a stage of answered calls needs a conversation (talk time at
least the stage's min_talk_s, else calls.conversation_min_s, 30 s). Each such call
belongs to the funnel's deal with its phone that was open at the call (the latest
created), else to the one created first within link_days after it; there it is one more
entry into the call stage. The other calls of a phone are call leads: a new one when a
call comes more than window_days after the phone's previous such call; its manager is its
first call's. A missed inbound call on the funnel's lines is a leak unless an answered
call with its phone follows within callback_hours (any line, either direction).

A row with a value that is not a date (31.02.2020) is rejected and counts nowhere; each
reader says which columns it reads as dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import io
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.acceptance.shapes import DATA, MANAGERS, SHAPES, Shape

UTC = dt.UTC
NAIVE_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


class BadRow(Exception):
    """A value the pipeline must reject (the row goes to rejected_rows)."""


# --- reading files --------------------------------------------------------------------


def read_csv(path: Path, encoding: str, delimiter: str) -> list[dict[str, str]]:
    """Records as dicts by header name (a repeated name keeps its first column)."""
    text = path.read_bytes().decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header, records = rows[0], [r for r in rows[1:] if r]
    out = []
    for record in records:
        named: dict[str, str] = {}
        for name, value in zip(header, record, strict=True):
            named.setdefault(name, value)
        out.append(named)
    return out


def parse_time(text: str, zone: str) -> dt.datetime | None:
    """A time as written → UTC. Empty → None. Naive times are local in `zone`."""
    text = text.strip()
    if not text:
        return None
    if re.search(r"(Z|[+-]\d\d:\d\d)$", text):  # absolute: ISO with Z or an offset
        try:
            return dt.datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            raise BadRow(text) from None
    for fmt in NAIVE_FORMATS:
        try:
            naive = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=ZoneInfo(zone), fold=0).astimezone(UTC)
    raise BadRow(text)


def file_date(name: str, zone: str) -> dt.datetime | None:
    """A yyyy-mm-dd or yyyymmdd date in a file name: that day's 00:00 local."""
    match = re.search(r"(?<!\d)(20\d\d)-?(\d\d)-?(\d\d)(?!\d)", name)
    if not match:
        return None
    day = dt.datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=ZoneInfo(zone))
    return day.astimezone(UTC)


# --- what the files say ---------------------------------------------------------------


@dataclass
class Deal:
    deal_id: str
    created_at: dt.datetime
    pipeline: str | None
    status: str  # open / won / lost
    closed_at: dt.datetime | None
    manager: str | None
    sightings: list[tuple[dt.datetime, str]] = field(default_factory=list)  # (snapshot, stage)
    phones: set[str] = field(default_factory=set)  # E.164
    amount: float | None = None


@dataclass
class Call:
    call_id: str
    started_at: dt.datetime
    direction: str  # inbound / outbound / internal
    phone: str | None  # the client's, E.164
    line: str | None  # ours, E.164
    answered: bool
    talk_s: int | None
    manager: str | None  # as written: ext:101


@dataclass
class FileCount:
    rows: int = 0
    rejected: int = 0


@dataclass
class Corpus:
    """One shape's files, read: deals (their latest row wins), exact entries, row counts."""

    deals: dict[str, Deal] = field(default_factory=dict)
    exact: list[tuple[str, str, dt.datetime]] = field(default_factory=list)  # deal, stage, at
    files: dict[str, FileCount] = field(default_factory=dict)
    times: list[dt.datetime] = field(default_factory=list)  # every time the data states
    calls: list[Call] = field(default_factory=list)

    def sight(self, deal: Deal, snapshot_at: dt.datetime, stage: str) -> None:
        previous = self.deals.get(deal.deal_id)
        deal.sightings = (previous.sightings if previous else []) + [(snapshot_at, stage)]
        self.deals[deal.deal_id] = deal
        self.times += [t for t in (deal.created_at, deal.closed_at, snapshot_at) if t]

    def enter(self, deal_id: str, stage: str, at: dt.datetime) -> None:
        self.exact.append((deal_id, stage, at))
        self.times.append(at)


def zone_of(shape: Shape, source: str, business_zone: str) -> str:
    return shape.source(source).get("timezone") or business_zone


def rows_of(corpus: Corpus, path: Path, encoding: str, delimiter: str):
    """Each record of a file with its FileCount; a reader raises BadRow to reject one."""
    count = corpus.files.setdefault(f"{path.parent.name}/{path.name}", FileCount())
    for record in read_csv(path, encoding, delimiter):
        count.rows += 1
        yield record, count


def amount_of(text: str, thousands: str = " ") -> float | None:
    """An amount as written: `42 500`, `42 500,50` (spaces group thousands, a comma is the
    decimal mark), or `12,500.50` (thousands=","). Empty: None."""
    text = text.replace("\u00a0", " ").strip()
    if not text:
        return None
    if thousands == ",":
        return float(text.replace(",", ""))
    return float(text.replace(" ", "").replace(",", "."))


def status_by_stage(stage: str, won: tuple[str, ...], lost: tuple[str, ...]) -> str:
    return "won" if stage in won else "lost" if stage in lost else "open"


# amoCRM: cp1251, ';'. Dates: Дата создания сделки, Дата закрытия.
AMO_WON, AMO_LOST = ("Успешно реализовано",), ("Закрыто и не реализовано",)
AMO_PHONES = ("Рабочий телефон", "Мобильный телефон")


def e164(text: str, country: str = "RU") -> str | None:
    """A number as written → E.164. RU: +7 900 …, 8 (900) …, 79001234567 → +7XXXXXXXXXX.
    US: +1 917 …, (917) 555-0102, 1 917 555 0102, 19175550102 → +1XXXXXXXXXX."""
    digits = re.sub(r"\D", "", text)
    if country == "US":
        if len(digits) == 11 and digits[0] == "1":
            return "+" + digits
        if len(digits) == 10 and digits[0] not in "01":
            return "+1" + digits
        return None
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10:
        return "+7" + digits
    return None


def phones_in(cell: str, country: str = "RU") -> list[str]:
    """The numbers of one cell (several are separated by commas)."""
    return [p for part in cell.split(",") if (p := e164(part, country))]


def phone_country(shape: Shape) -> str:
    """The numbering plan of the shape's call log (voronka.yaml phone_country; RU default)."""
    return shape.source(shape.funnel["calls"]["source"]).get("phone_country", "RU")


def read_amo_deals(corpus: Corpus, path: Path, zone: str) -> None:
    good = []
    for r, count in rows_of(corpus, path, "cp1251", ";"):
        try:
            created = parse_time(r["Дата создания сделки"], zone)
            status = status_by_stage(r["Этап сделки"], AMO_WON, AMO_LOST)
            closed = parse_time(r["Дата закрытия"], zone) if status != "open" else None
        except BadRow:
            count.rejected += 1
            continue
        good.append((r, created, status, closed))
    # No date in the name: the latest time the rows state (created, edited, closed).
    snapshot = file_date(path.name, zone) or max(
        t
        for r, created, _, closed in good
        for t in (created, closed, parse_time(r["Дата редактирования"], zone))
        if t
    )
    for r, created, status, closed in good:
        deal = Deal(r["ID"], created, r["Воронка"], status, closed, r["Ответственный"])
        deal.amount = amount_of(r["Бюджет"])
        deal.phones = {p for cell in AMO_PHONES for p in phones_in(r.get(cell, ""))}
        corpus.sight(deal, snapshot, r["Этап сделки"].strip())


def read_amo_single(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    read_amo_deals(
        corpus, DATA / "amo_single" / "amocrm_export_leads.csv", zone_of(shape, "amo_single", zone)
    )
    return corpus


def read_amo_weekly(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    for path in sorted((DATA / "amo_weekly").glob("*.csv")):  # oldest export first
        read_amo_deals(corpus, path, zone_of(shape, "amo_weekly", zone))
    return corpus


def read_amo_events(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    read_amo_deals(
        corpus,
        DATA / "amo_events" / "amocrm_deals_2026-01-12.csv",
        zone_of(shape, "amo_events", zone),
    )
    # Events export: one row per event; "Значение после" is the stage entered at "Дата".
    log_zone = zone_of(shape, "amo_events_log", zone)
    for r, count in rows_of(corpus, DATA / "amo_events" / "amocrm_events.csv", "cp1251", ";"):
        try:
            at = parse_time(r["Дата"], log_zone)
        except BadRow:
            count.rejected += 1
            continue
        corpus.enter(r["ID объекта"], r["Значение после"].strip(), at)
    return corpus


# Lead list: UTF-8 with BOM, ';', constant stage "new", no pipeline. Won file: one row per
# lead that closed, one date column per stage (a bad date rejects the whole row).
def read_leads(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    path = DATA / "leads" / "lead_list.csv"
    lead_zone = zone_of(shape, "leads", zone)
    good = []
    for r, count in rows_of(corpus, path, "utf-8-sig", ";"):
        try:
            good.append((r, parse_time(r["Дата обращения"], lead_zone)))
        except BadRow:
            count.rejected += 1
    snapshot = max(created for _, created in good)  # no date in the name, no modified column
    for r, created in good:
        corpus.sight(Deal(r["№"], created, None, "open", None, r["Менеджер"]), snapshot, "new")
    won_zone = zone_of(shape, "lead_outcomes", zone)
    columns = shape.source("lead_outcomes")["stage_dates"]
    for r, count in rows_of(corpus, DATA / "leads" / "won_deals.csv", "utf-8-sig", ";"):
        try:
            dates = {st: parse_time(r[column], won_zone) for st, column in columns.items()}
        except BadRow:
            count.rejected += 1
            continue
        for stage_name, at in dates.items():
            if at:
                corpus.enter(r["№ лида"], stage_name, at)
    return corpus


# Opportunity table: UTF-8 with BOM, ';', dates only; stage-date columns in the deals file.
def read_opportunities(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    path = DATA / "opportunities" / "opportunities.csv"
    source = shape.source("opportunities")
    opp_zone = zone_of(shape, "opportunities", zone)
    won, lost = tuple(source["status"]["won"]), tuple(source["status"]["lost"])
    good = []
    for r, count in rows_of(corpus, path, "utf-8-sig", ";"):
        try:
            created = parse_time(r["Создана"], opp_zone)
            status = status_by_stage(r["Этап"], won, lost)
            closed = parse_time(r["Закрыта"], opp_zone) if status != "open" else None
            dates = {st: parse_time(r[c], opp_zone) for st, c in source["stage_dates"].items()}
        except BadRow:
            count.rejected += 1
            continue
        good.append((r, created, status, closed, dates))
    snapshot = max(t for g in good for t in (g[1], g[3], *g[4].values()) if t)
    for r, created, status, closed, dates in good:
        deal = Deal(r["Сделка"], created, r["Направление"], status, closed, r["Менеджер"])
        deal.amount = amount_of(r["Сумма"])
        corpus.sight(deal, snapshot, r["Этап"].strip())
        for stage_name, at in dates.items():
            if at:
                corpus.enter(r["Сделка"], stage_name, at)
    return corpus


# HubSpot: UTF-8, ','. Status from Is Closed Won / Is closed lost; every
# `Date entered "<Stage> (<Pipeline>)"` cell is an exact entry into <Stage>.
DATE_ENTERED = re.compile(r'^Date entered "(?P<stage>.+) \((?P<pipeline>[^()]*)\)"$')


def read_hubspot(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    path = DATA / "hubspot" / "hubspot-crm-exports-all-deals-2025-08-04.csv"
    read_hubspot_deals(corpus, path, zone_of(shape, "hubspot", zone))
    return corpus


def read_hubspot_deals(corpus: Corpus, path: Path, hub_zone: str, country: str = "RU") -> None:
    """A HubSpot deals export; its phone cells (Phone Number) read in `country`'s plan."""
    snapshot = file_date(path.name, hub_zone)
    for r, count in rows_of(corpus, path, "utf-8", ","):
        entered = {m["stage"]: c for c in r if (m := DATE_ENTERED.match(c))}
        try:
            created = parse_time(r["Create Date"], hub_zone)
            status = (
                "won"
                if r["Is Closed Won"] == "true"
                else "lost"
                if r["Is closed lost"] == "true"
                else "open"
            )
            closed = parse_time(r["Close Date"], hub_zone) if status != "open" else None
            dates = {st: parse_time(r[c], hub_zone) for st, c in entered.items()}
        except BadRow:
            count.rejected += 1
            continue
        deal = Deal(r["Record ID"], created, r["Pipeline"], status, closed, r["Deal owner"])
        deal.amount = amount_of(r["Amount"], thousands=",")
        deal.phones = set(phones_in(r.get("Phone Number", ""), country))
        corpus.sight(deal, snapshot, r["Deal Stage"])
        for stage_name, at in dates.items():
            if at:
                corpus.enter(r["Record ID"], stage_name, at)


# Pipedrive: deals (',', Berlin local times; status column; closed on "Deal closed on") and
# the deal flow (UTC log times): a row with field_key stage_id enters stage new_value (an
# id); rows of other fields enter nothing. The stage a deal was created in is not in the
# flow: its creation counts for the first stage.
def read_pipedrive(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    path = DATA / "pipedrive" / "deals-export.csv"
    deal_zone = zone_of(shape, "pipedrive", zone)
    good = []
    for r, count in rows_of(corpus, path, "utf-8", ","):
        try:
            created = parse_time(r["Deal - Deal created"], deal_zone)
            status = r["Deal - Status"].strip().lower()
            closed = parse_time(r["Deal - Deal closed on"], deal_zone) if status != "open" else None
        except BadRow:
            count.rejected += 1
            continue
        good.append((r, created, status, closed))
    snapshot = max(t for g in good for t in (g[1], g[3]) if t)
    for r, created, status, closed in good:
        deal = Deal(
            r["Deal - ID"], created, r["Deal - Pipeline"], status, closed, r["Deal - Owner"]
        )
        deal.amount = amount_of(r["Deal - Value"])
        corpus.sight(deal, snapshot, r["Deal - Stage"])
    flow_zone = zone_of(shape, "pipedrive_flow", zone)
    for r, count in rows_of(corpus, DATA / "pipedrive" / "deal-flow.csv", "utf-8", ","):
        if r["field_key"] != "stage_id":
            continue  # another field's change: accepted, no entry
        try:
            at = parse_time(r["log_time"], flow_zone)
        except BadRow:
            count.rejected += 1
            continue
        corpus.enter(r["item_id"], r["new_value"], at)
    return corpus


# Bitrix24: deals (UTF-8 with BOM, ';', Yekaterinburg local; stage labels; «Дата
# завершения» is the planned date while a deal is open) + stage history (',', ISO times
# with the portal's offset): every row enters STAGE_ID.
BITRIX_WON, BITRIX_LOST = ("Сделка успешна",), ("Сделка провалена",)


def read_bitrix(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    path = DATA / "bitrix" / "DEAL_20260305_1f3a9c.csv"
    deal_zone = zone_of(shape, "bitrix", zone)
    snapshot = file_date(path.name, deal_zone)
    for r, count in rows_of(corpus, path, "utf-8-sig", ";"):
        try:
            created = parse_time(r["Дата создания"], deal_zone)
            status = status_by_stage(r["Стадия сделки"], BITRIX_WON, BITRIX_LOST)
            closed = parse_time(r["Дата завершения"], deal_zone) if status != "open" else None
        except BadRow:
            count.rejected += 1
            continue
        deal = Deal(r["ID"], created, r["Воронка"], status, closed, r["Ответственный"])
        deal.amount = amount_of(r["Сумма"])
        corpus.sight(deal, snapshot, r["Стадия сделки"])
    history_zone = zone_of(shape, "bitrix_history", zone)
    for r, count in rows_of(corpus, DATA / "bitrix" / "stagehistory.csv", "utf-8", ","):
        try:
            at = parse_time(r["CREATED_TIME"], history_zone)
        except BadRow:
            count.rejected += 1
            continue
        corpus.enter(r["OWNER_ID"], r["STAGE_ID"], at)
    return corpus


# Salesforce: Opportunity (all quoted, ',', CreatedDate in UTC, CloseDate a local date;
# IsWon / IsClosed) + OpportunityHistory: a row enters StageName at CreatedDate, except a
# deleted row (IsDeleted) and a row repeating the opportunity's previous stage (an amount
# or close-date change).
def read_salesforce(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    path = DATA / "salesforce" / "Opportunity.csv"
    sf_zone = zone_of(shape, "salesforce", zone)
    good = []
    for r, count in rows_of(corpus, path, "utf-8", ","):
        try:
            created = parse_time(r["CreatedDate"], sf_zone)
            status = (
                "won" if r["IsWon"] == "true" else "lost" if r["IsClosed"] == "true" else "open"
            )
            closed = parse_time(r["CloseDate"], sf_zone) if status != "open" else None
        except BadRow:
            count.rejected += 1
            continue
        good.append((r, created, status, closed))
    snapshot = max(t for g in good for t in (g[1], g[3]) if t)
    for r, created, status, closed in good:
        deal = Deal(r["Id"], created, r["RecordType.Name"], status, closed, r["Owner.Name"])
        deal.amount = amount_of(r["Amount"])
        corpus.sight(deal, snapshot, r["StageName"])
    history_zone = zone_of(shape, "salesforce_history", zone)
    live = []
    for r, count in rows_of(corpus, DATA / "salesforce" / "OpportunityHistory.csv", "utf-8", ","):
        if r["IsDeleted"] == "true":
            continue  # deleted in Salesforce: accepted, no entry
        live.append((r, count))
    previous_stage: dict[str, str] = {}
    for r, count in sorted(live, key=lambda rc: (rc[0]["OpportunityId"], rc[0]["CreatedDate"])):
        deal_id, stage_name = r["OpportunityId"], r["StageName"]
        repeat = previous_stage.get(deal_id) == stage_name
        previous_stage[deal_id] = stage_name
        if repeat:
            continue  # the stage did not change: accepted, no entry
        try:
            at = parse_time(r["CreatedDate"], history_zone)
        except BadRow:
            count.rejected += 1
            continue
        corpus.enter(deal_id, stage_name, at)
    return corpus


# Mango Office API statistics: ';', no header, UTF-8; fields records;start;finish;answer;
# from_extension;from_number;to_extension;to_number;disconnect_reason;line_number;location;
# entry_id. Unix seconds; answer 0: not answered. The side with an extension is ours.
def read_mango_calls(corpus: Corpus, path: Path) -> None:
    count = corpus.files.setdefault(f"{path.parent.name}/{path.name}", FileCount())
    text = path.read_text(encoding="utf-8")
    for fields in csv.reader(io.StringIO(text, newline=""), delimiter=";"):
        count.rows += 1
        _, start, finish, answer, from_ext, from_number, to_ext, to_number = fields[:8]
        line_number, entry_id = fields[9], fields[11]
        if not start.isdigit():
            count.rejected += 1
            continue
        if not from_ext:
            direction, client, ours, agent = "inbound", from_number, to_number, to_ext
        elif to_ext:
            direction, client, ours, agent = "internal", "", "", from_ext
        else:
            direction, client, ours, agent = "outbound", to_number, from_number, from_ext
        answered = answer != "0"
        started = dt.datetime.fromtimestamp(int(start), UTC)
        corpus.calls.append(
            Call(
                call_id=entry_id,
                started_at=started,
                direction=direction,
                phone=e164(client),
                line=e164(line_number or ours),
                answered=answered,
                talk_s=int(finish) - int(answer) if answered else 0,
                manager=f"ext:{agent}" if agent else None,
            )
        )
        corpus.times.append(started)


def read_mango(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    read_amo_deals(
        corpus,
        DATA / "mango" / "amocrm_export_2025-12-15.csv",
        zone_of(shape, "mango_amo", zone),
    )
    read_mango_calls(corpus, DATA / "mango" / "stats_2025-08_2025-12.csv")
    return corpus


# Twilio call records: ',', a header row; start_time RFC 2822 in UTC. direction inbound, or
# outbound-api / outbound-dial; the client is `from` of an inbound call, `to` of an
# outbound one, our line the other side. status completed is answered; busy, failed,
# no-answer and canceled are final and not; any other (in-progress) is rejected.
TWILIO_FINAL = ("completed", "busy", "failed", "no-answer", "canceled")


def read_twilio_calls(corpus: Corpus, path: Path, country: str) -> None:
    for r, count in rows_of(corpus, path, "utf-8", ","):
        if r["status"] not in TWILIO_FINAL:
            count.rejected += 1
            continue
        started = email.utils.parsedate_to_datetime(r["start_time"]).astimezone(UTC)
        inbound = r["direction"] == "inbound"
        client, ours = (r["from"], r["to"]) if inbound else (r["to"], r["from"])
        corpus.calls.append(
            Call(
                call_id=r["sid"],
                started_at=started,
                direction="inbound" if inbound else "outbound",
                phone=e164(client, country),
                line=e164(ours, country),
                answered=r["status"] == "completed",
                talk_s=int(r["duration"]) if r["duration"] else None,
                manager=None,  # both sides are numbers: no agent named
            )
        )
        corpus.times.append(started)


def read_twilio_us(shape: Shape, zone: str) -> Corpus:
    corpus = Corpus()
    folder = DATA / "twilio_us"
    crm_zone = zone_of(shape, "twilio_us_crm", zone)
    read_hubspot_deals(
        corpus, folder / "hubspot-crm-exports-all-deals-2025-11-03.csv", crm_zone, "US"
    )
    read_twilio_calls(corpus, folder / "twilio-call-log-2025-09-01_2025-10-31.csv", "US")
    return corpus


READERS = {
    "amo_single": read_amo_single,
    "amo_events": read_amo_events,
    "amo_weekly": read_amo_weekly,
    "leads": read_leads,
    "opportunities": read_opportunities,
    "hubspot": read_hubspot,
    "pipedrive": read_pipedrive,
    "bitrix": read_bitrix,
    "salesforce": read_salesforce,
    "mango": read_mango,
    "twilio_us": read_twilio_us,
}


def read_shape(name: str, zone: str) -> Corpus:
    return READERS[name](SHAPES[name], zone)


# --- counting ---------------------------------------------------------------------------


def _key(name: str) -> str:
    return " ".join(name.replace("ё", "е").replace("Ё", "Е").split()).casefold()


MANAGER_NAMES = {_key(alias): m["name"] for m in MANAGERS for alias in [m["name"], *m["aliases"]]}


def manager_segment(written: str | None) -> str:
    written = " ".join((written or "").split())
    if not written:
        return "(unknown)"
    return MANAGER_NAMES.get(_key(written), written)


def stage_index(shape: Shape) -> tuple[dict[str, int], int | None]:
    """Raw CRM stage name → funnel stage index; the index of the `crm_status: won` stage."""
    names, won_at = {}, None
    for index, st in enumerate(shape.funnel["stages"]):
        for crm in st.get("crm_stages", []):
            names[crm["name"]] = index
        if st.get("crm_status") == "won":
            won_at = index
    return names, won_at


def entries_of(deal: Deal, exact: list[tuple[str, dt.datetime]], shape: Shape):
    """(funnel stage index, earliest, latest time) for every recorded entry of one deal
    (rules 1-4 above): an exact entry's two times are one; an export's sighting was entered
    at the earliest at the previous sighting (or creation), at the latest at its own time."""
    names, won_at = stage_index(shape)
    entries = [(0, deal.created_at, deal.created_at)]  # 1. creation enters the first stage
    exactly_known = {0}
    for stage_name, at in exact:  # 2. history rows and stage-date cells
        if stage_name.strip() in names:
            entries.append((names[stage_name.strip()], at, at))
            exactly_known.add(names[stage_name.strip()])
    # 3. exports: a stage first seen (or seen changed) counts at the previous sighting,
    #    or at creation for the first one, unless the deal has an exact entry into it.
    lower, last_stage = deal.created_at, None
    for snapshot_at, stage_name in deal.sightings:
        index = names.get(stage_name)
        if stage_name != last_stage and index is not None and index not in exactly_known:
            entries.append((index, lower, snapshot_at))
        lower, last_stage = snapshot_at, stage_name
    if won_at is not None and deal.status == "won" and deal.closed_at:
        entries.append((won_at, deal.closed_at, deal.closed_at))  # 4. won at closed_at
    return entries


def local_month(at: dt.datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m")


Key = tuple[str, str, str, str]  # month, segment_type, segment, stage_key


# Its entries (stage index, earliest, latest time) and its manager as written.
Entity = tuple[list[tuple[int, dt.datetime, dt.datetime]], str | None]


def qualifying_calls(shape: Shape, corpus: Corpus) -> list[tuple[Call, list[int]]]:
    """The calls that count for the funnel's call stages, with the stages each counts for."""
    calls_of = shape.funnel.get("calls")
    if not calls_of:
        return []
    lines = {e164(line, phone_country(shape)) for line in calls_of.get("lines", [])}
    rules = [(i, st["calls"]) for i, st in enumerate(shape.funnel["stages"]) if "calls" in st]
    found = []
    for call in corpus.calls:
        if call.phone is None or (lines and call.line not in lines):
            continue
        stages = [i for i, rule in rules if counts_for(call, rule)]
        if stages:
            found.append((call, stages))
    return found


def counts_for(call: Call, rule: dict) -> bool:
    if rule.get("direction") and call.direction != rule["direction"]:
        return False
    if "answered" in rule and call.answered != rule["answered"]:
        return False
    least = rule.get("min_talk_s", CONVERSATION_MIN_S if rule.get("answered") else None)
    return least is None or call.talk_s is None or call.talk_s >= least


CONVERSATION_MIN_S = 30  # calls.conversation_min_s: the acceptance config keeps the default


def linked_deal(call: Call, deals: list[Deal], link_days: int) -> Deal | None:
    """The deal with the call's phone open at the call (the latest created), else the one
    created first within link_days after it."""
    mine = [d for d in deals if call.phone in d.phones]
    at = call.started_at
    open_then = [d for d in mine if d.created_at <= at and at <= (d.closed_at or at)]
    if open_then:
        return sorted(open_then, key=lambda d: (-d.created_at.timestamp(), d.deal_id))[0]
    later = [d for d in mine if at < d.created_at <= at + dt.timedelta(days=link_days)]
    return sorted(later, key=lambda d: (d.created_at, d.deal_id))[0] if later else None


def entities(name: str, zone: str) -> tuple[dict[str, Entity], list[Entity]]:
    """The funnel's deals (by deal id) and its call leads, each with its entries and
    manager."""
    shape, corpus = SHAPES[name], read_shape(name, zone)
    exact_by_deal = defaultdict(list)
    for deal_id, stage_name, at in corpus.exact:
        exact_by_deal[deal_id].append((stage_name, at))
    deals = [d for d in corpus.deals.values() if shape.pipeline in (None, d.pipeline)]
    deal_entries = {d.deal_id: entries_of(d, exact_by_deal[d.deal_id], shape) for d in deals}
    unlinked = defaultdict(list)
    for call, stages in qualifying_calls(shape, corpus):
        deal = linked_deal(call, deals, shape.funnel.get("link_days", 30))
        if deal:
            deal_entries[deal.deal_id] += [(i, call.started_at, call.started_at) for i in stages]
        else:
            unlinked[call.phone].append((call, stages))
    leads: list[Entity] = []
    window = dt.timedelta(days=shape.window_days)
    for phone_calls in unlinked.values():
        previous = None
        for call, stages in sorted(phone_calls, key=lambda cs: (cs[0].started_at, cs[0].call_id)):
            if previous is None or call.started_at > previous + window:
                leads.append(([], call.manager))  # a new call lead: its first call's manager
            leads[-1][0].extend((i, call.started_at, call.started_at) for i in stages)
            previous = call.started_at
    return {d.deal_id: (deal_entries[d.deal_id], d.manager) for d in deals}, leads


def cohort_counts(name: str, zone: str) -> Counter[Key]:
    """Cohort entities per (month, segment type, segment, stage) under reach `implied`."""
    shape = SHAPES[name]
    keys = shape.stage_keys
    window = dt.timedelta(days=shape.window_days)
    counts: Counter[Key] = Counter()
    deals, leads = entities(name, zone)
    for entries, manager in [*deals.values(), *leads]:
        anchor = min(at for _, at, _ in entries)
        month = local_month(anchor, zone)
        furthest = max(index for index, at, _ in entries if at <= anchor + window)
        for key in keys[: furthest + 1]:
            counts[(month, "total", "all", key)] += 1
            counts[(month, "manager", manager_segment(manager), key)] += 1
    return counts


def period_counts(name: str, zone: str) -> Counter[Key]:
    """Period view: per month and stage, the entities that reached the stage in the month.
    Under reach `implied` a stage is reached by the earliest latest time of an entry into it
    or any later stage (the latest: a sighting counts when the export saw it); known only
    between two times (the earliest such entry's earliest time before it), it happened
    before the latest: it counts in the month of the second before."""
    keys = SHAPES[name].stage_keys
    counts: Counter[Key] = Counter()
    deals, leads = entities(name, zone)
    for entries, manager in [*deals.values(), *leads]:
        for index, key in enumerate(keys):
            reached = [(latest, at) for entered, at, latest in entries if entered >= index]
            if reached:
                by = min(latest for latest, _ in reached)
                exact = min(at for _, at in reached) == by
                month = local_month(by if exact else by - dt.timedelta(seconds=1), zone)
                counts[(month, "total", "all", key)] += 1
                counts[(month, "manager", manager_segment(manager), key)] += 1
    return counts


def revenue(name: str, zone: str) -> dict[str, tuple[int, float]]:
    """Per month of closing (total): the funnel's deals won in it by their latest export,
    and the sum of their amounts (none adds 0). Months without a won deal left out."""
    shape, corpus = SHAPES[name], read_shape(name, zone)
    months: dict[str, tuple[int, float]] = {}
    for deal in corpus.deals.values():
        if shape.pipeline in (None, deal.pipeline) and deal.status == "won" and deal.closed_at:
            month = local_month(deal.closed_at, zone)
            won, amount = months.get(month, (0, 0.0))
            months[month] = (won + 1, amount + (deal.amount or 0.0))
    return months


DurationKey = tuple[str, str]  # month of reaching the stage, stage_key


def stage_durations(name: str, zone: str) -> dict[DurationKey, tuple[int, int, float | None]]:
    """Per month and stage (total): the entities that reached the stage in the month and
    went on to the next (converted), those whose two reach times are exact (converted_timed),
    and the median days between those two times (linear interpolation; None without any).
    A reach time is exact when its earliest and latest agree and the stage itself was
    entered (not only implied by a later one). Months where nobody converted left out."""
    keys = SHAPES[name].stage_keys
    days: dict[DurationKey, list[float]] = defaultdict(list)
    converted: Counter[DurationKey] = Counter()
    deals, leads = entities(name, zone)
    for entries, _ in [*deals.values(), *leads]:
        reach = {}  # stage index -> (reached at, timed)
        for index in range(len(keys)):
            later = [(at, latest) for entered, at, latest in entries if entered >= index]
            if later:
                at, by = min(a for a, _ in later), min(b for _, b in later)
                entered = any(e == index for e, _, _ in entries)
                reach[index] = (at, at == by and entered)
        for index in range(len(keys) - 1):
            if index in reach and index + 1 in reach:
                (at, timed), (next_at, next_timed) = reach[index], reach[index + 1]
                key = (local_month(at, zone), keys[index])
                converted[key] += 1
                if timed and next_timed:
                    days[key].append((next_at - at).total_seconds() / 86400)
    return {key: (n, len(days[key]), percentile(days[key], 0.5)) for key, n in converted.items()}


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between the two ranks around fraction × (n - 1); None if empty."""
    if not values:
        return None
    ordered, rank = sorted(values), (len(values) - 1) * fraction
    low, high = ordered[math.floor(rank)], ordered[math.ceil(rank)]
    return low + (high - low) * (rank - math.floor(rank))


def sales_cycles(name: str, zone: str) -> dict[str, tuple[int, float, float]]:
    """Per month of winning (total): the deals won (their latest export), and the median
    and 80th percentile of the days from each one's anchor (its cohort's) to closed_at."""
    corpus = read_shape(name, zone)
    deals, _ = entities(name, zone)
    days: dict[str, list[float]] = defaultdict(list)
    for deal_id, (entries, _) in deals.items():
        deal = corpus.deals[deal_id]
        if deal.status == "won" and deal.closed_at:
            anchor = min(at for _, at, _ in entries)
            days[local_month(deal.closed_at, zone)].append(
                (deal.closed_at - anchor).total_seconds() / 86400
            )
    return {m: (len(d), percentile(d, 0.5), percentile(d, 0.8)) for m, d in days.items()}


LeakKey = tuple[str, str]  # month, manager


def call_leak_counts(name: str, zone: str) -> dict[LeakKey, tuple[int, int, int]]:
    """Per month and manager: missed inbound calls on the funnel's lines, those not called
    back within callback_hours (once that window closed before the cutoff), and call leads
    (by their first call's month and manager). Cells of zeros left out."""
    shape, corpus, cut = SHAPES[name], read_shape(name, zone), cutoff(zone)
    lines = {e164(line, phone_country(shape)) for line in shape.funnel["calls"].get("lines", [])}
    callback = dt.timedelta(hours=CALLBACK_HOURS)
    counts: dict[LeakKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    for call in corpus.calls:
        if call.direction != "inbound" or call.answered or call.phone is None:
            continue
        if lines and call.line not in lines:
            continue
        called_back = any(
            other.answered
            and other.phone == call.phone
            and call.started_at < other.started_at <= call.started_at + callback
            for other in corpus.calls
        )
        cell = counts[(local_month(call.started_at, zone), manager_segment(call.manager))]
        cell[0] += 1
        cell[1] += not called_back and call.started_at + callback <= cut
    for entries, manager in entities(name, zone)[1]:
        first = min(at for _, at, _ in entries)
        counts[(local_month(first, zone), manager_segment(manager))][2] += 1
    return {key: tuple(cell) for key, cell in counts.items() if any(cell)}


CALLBACK_HOURS = 24  # calls.callback_hours: the acceptance config keeps the default


def cutoff(zone: str) -> dt.datetime:
    """The latest time any file of the corpus states (UTC)."""
    return max(max(read_shape(name, zone).times) for name in SHAPES)


def is_mature(month: str, window_days: int, cutoff_at: dt.datetime, zone: str) -> bool:
    year, number = map(int, month.split("-"))
    next_month = dt.datetime(year + number // 12, number % 12 + 1, 1)
    local_cutoff = cutoff_at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return next_month + dt.timedelta(days=window_days) <= local_cutoff


def mature_counts(name: str, zone: str) -> dict[Key, int]:
    shape, cut = SHAPES[name], cutoff(zone)
    return {
        key: n
        for key, n in cohort_counts(name, zone).items()
        if n and is_mature(key[0], shape.window_days, cut, zone)
    }


def file_counts(name: str) -> dict[str, FileCount]:
    """Records and rejected records per file (zone-independent: no row is bad by zone)."""
    return read_shape(name, "Europe/Moscow").files
