"""The `twilio` preset: Twilio call records CSV (`sid, parent_call_sid, date_created,
start_time, end_time, duration, from, to, direction, status, …`; the console's
title-case headers match too).

Times are UTC as Twilio writes them — RFC 2822 (`Mon, 10 Mar 2025 07:00:00 +0000`) or
ISO / `… UTC` — and land as absolute instants. direction: inbound → inbound;
outbound-api, outbound-dial → outbound. status: completed → answered, busy → busy,
failed → failed, no-answer and canceled → no_answer (a call still queued/ringing is
rejected as not final). Client = from (inbound) or to (outbound); line = the other
number. Twilio has no agent column: a `client:<name>` or `sip:<user>@…` party is the
manager. talk_s = duration (Twilio counts it from pickup).

A leg Twilio dials for a client's inbound call (`parent_call_sid`: an inbound call from a
phone, in the same file; a <Dial> to the agent's phone) is that call, not a call to a
client: it lands as a copy of it (its sid, inbound, its line and client) with the leg's
own agent, answer and talk, as an Asterisk ring group's legs share one uniqueid and a
Mango entry's legs its id; the build keeps one copy (the answered one, then the longest
talk: stg_landing__call_copies). Such a call is answered when a leg was: its own
`completed` is Twilio's pickup (a greeting, a queue), so it lands unanswered with no talk
time, and a call no agent picked up is a missed call. A leg of a call that no client
placed (the agent's browser `client:…` dialing out) is the call to the client and keeps
its own sid.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

import polars as pl

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile
from pipeline.sources.tabular import read_table

COLUMNS = (
    Column("call_id", ("sid", "Call Sid", "Sid", "CallSid"), required=True),
    Column("_start", ("start_time", "Start Time", "StartTime"), required=True),
    Column("_end", ("end_time", "End Time", "EndTime")),
    Column("_duration", ("duration", "Duration")),
    Column("_from", ("from", "From"), required=True),
    Column("_to", ("to", "To"), required=True),
    Column("_direction", ("direction", "Direction"), required=True),
    Column("_status", ("status", "Status"), required=True),
    Column("_parent", ("parent_call_sid", "Parent Call Sid", "ParentCallSid")),
)
DIRECTIONS = {"inbound": "inbound", "outbound-api": "outbound", "outbound-dial": "outbound"}
STATUSES = {
    "completed": "answered",
    "busy": "busy",
    "failed": "failed",
    "no-answer": "no_answer",
    "canceled": "no_answer",
}
_UTC_SUFFIX = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?)\s*(UTC|Z)?$")
_AGENT = re.compile(r"^(?:client:(?P<client>.+)|sips?:(?P<sip>[^@]+)@.*)$", re.I)


def twilio_time(value: str | None) -> str | None:
    """Twilio's RFC 2822 or ISO/`UTC` text → ISO with +00:00; other text unchanged."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    match = _UTC_SUFFIX.match(text)
    if match:
        return match["stamp"].replace(" ", "T") + "+00:00"
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return text
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat()


def agent(party: str) -> str | None:
    match = _AGENT.match(party.strip())
    return (match["client"] or match["sip"]) if match else None


def read(data: bytes, name: str, source: Source) -> RawFile:
    table = read_table(data, name, source.formats)
    raw = RawFile.from_table(table)
    if table.rows_total == 0:
        return raw
    labels = presets.resolve_columns(
        table.header, COLUMNS, dict(source.columns), file_name=name, source=source, preset="twilio"
    )
    names = ("call_id", "direction", "line", "client_phone", "started_at", "answered_at")
    names += ("ended_at", "manager", "talk_s", "disposition", "_parent")
    frame = presets.call_frame(table, labels, lambda values, _raw: _call(values), names)
    raw.frame = _legs_as_their_calls(frame)
    raw.labels = {
        "call_id": labels["call_id"],
        "direction": labels["_direction"],
        "disposition": labels["_status"],
        "started_at": labels["_start"],
        "answered_at": labels["_start"],
        "ended_at": labels.get("_end", "end_time"),
        "talk_s": labels.get("_duration", "duration"),
        "client_phone": f"{labels['_from']}/{labels['_to']}",
    }
    raw.expected = {
        "direction": "inbound, outbound-api or outbound-dial",
        "disposition": "completed, busy, failed, no-answer or canceled",
    }
    return raw


def _call(r: dict) -> tuple:
    get = lambda key: (r.get(key) or "").strip()  # noqa: E731
    kind = DIRECTIONS.get(get("_direction").casefold(), get("_direction"))
    caller, callee = get("_from"), get("_to")
    client, line = (caller, callee) if kind == "inbound" else (callee, caller)
    status = STATUSES.get(get("_status").casefold(), get("_status"))
    started = twilio_time(get("_start"))
    return (
        get("call_id"),
        kind,
        line or None,
        client or None,
        started,
        started if status == "answered" else None,
        twilio_time(get("_end")),
        agent(line or "") or agent(client or ""),
        get("_duration") or None,
        status,
        get("_parent") or None,
    )


def _legs_as_their_calls(frame: pl.DataFrame) -> pl.DataFrame:
    """The legs dialed for a client's inbound call as copies of that call (module doc):
    its sid, direction, line and client, each leg with its own agent, answer and talk.
    The client's call itself is answered only through a leg when it has legs: its own
    `completed` is Twilio's pickup (a greeting, a queue), so it lands unanswered, with no
    talk time."""
    client_calls = frame.filter(
        (pl.col("direction") == "inbound")
        & pl.col("client_phone").is_not_null()
        & ~pl.col("client_phone").str.contains("(?i)" + _AGENT.pattern)
    ).select(_parent="call_id", _client="client_phone", _line="line")
    frame = frame.join(client_calls, on="_parent", how="left", maintain_order="left")
    is_leg = pl.col("_parent").is_not_null() & pl.col("_client").is_not_null()
    dialed = frame.filter(is_leg)["_parent"].implode()
    picked_up_itself = pl.col("call_id").is_in(dialed) & (pl.col("disposition") == "answered")
    leg_or = lambda column, own: pl.when(is_leg).then(column).otherwise(own)  # noqa: E731
    return frame.with_columns(
        call_id=leg_or(pl.col("_parent"), pl.col("call_id")),
        direction=leg_or(pl.lit("inbound"), pl.col("direction")),
        line=leg_or(pl.col("_line"), pl.col("line")),
        client_phone=leg_or(pl.col("_client"), pl.col("client_phone")),
        disposition=pl.when(picked_up_itself).then(pl.lit("no_answer")).otherwise("disposition"),
        answered_at=pl.when(picked_up_itself).then(None).otherwise("answered_at"),
        talk_s=pl.when(picked_up_itself).then(pl.lit("0")).otherwise("talk_s"),
    ).drop("_parent", "_client", "_line")
