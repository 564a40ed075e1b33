"""The `generic` preset for `kind: calls`: any call log with a header row (CSV or XLSX),
mapped by `columns:` in voronka.yaml — and the call-log rules every header layout without
vendor codes shares (Mango Office's cabinet CSV reads through `call_rows` too).

Keys of the mapping: `started_at` (required); `direction`, or `caller` and `callee`;
`call_id`, `client_phone`, `line`, `manager`, `talk_s` (seconds or h:mm:ss),
`disposition`, `answered_at`, `ended_at`. Words are read in Russian and English
(`presets.call_direction`, `presets.call_disposition`). Without a direction column the
side that is ours decides it: an extension (2–5 digits), a name (not a number), or a
number listed in the source's `own_lines`; caller ours → outbound, callee ours →
inbound, both → internal. The client is the other side unless `client_phone` is mapped;
the manager is our side when it is an extension or a name, unless `manager` is mapped.
Without a disposition column a call with talk time or an answer time is answered, else
not answered. call_id: the mapped column, else the sha256 of the mapped columns' values.
"""

from __future__ import annotations

import re
from functools import partial

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.errors import MissingColumnsError
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile
from pipeline.sources.tabular import Table, read_table
from pipeline.transform.phones import PLANS, NumberingPlan, is_extension, normalize_phone

PRESET = "generic"
COLUMN_KEYS = ("call_id", "started_at", "direction", "caller", "callee", "line", "client_phone",
               "manager", "talk_s", "disposition", "answered_at", "ended_at")  # fmt: skip
CALL_COLUMNS = ("call_id", "direction", "line", "client_phone", "started_at", "answered_at",
                "ended_at", "manager", "talk_s", "disposition")  # fmt: skip
# A hidden or unknown caller is not one of ours, though it is not a number either.
NUMBER = re.compile(r"\+?[\d\s()\-.]+")
HIDDEN_CALLER = ("anonymous", "unknown", "private", "restricted", "скрыт", "неизвест", "аноним")
EXPECTED = {
    "direction": "inbound/outbound/internal (входящий/исходящий/внутренний), or one side ours: "
    "an extension, a name or a number in own_lines",
    "disposition": "answered, no_answer, busy or failed (отвечен, пропущен, занято, ошибка, …)",
}


def read(data: bytes, name: str, source: Source) -> RawFile:
    table = read_table(data, name, source.formats)
    raw = RawFile.from_table(table)
    if table.rows_total == 0:
        return raw
    require_mapping(source)
    wanted = tuple(Column(key, (column,), required=True) for key, column in source.columns.items())
    labels = presets.resolve_columns(
        table.header, wanted, {}, file_name=name, source=source, preset=PRESET
    )
    return call_rows(raw, table, labels, own_lines(source), PLANS[source.phone_country])


def require_mapping(source: Source) -> None:
    """What a call log must map: a start time, who called whom, and whether it was answered."""
    keys = source.columns
    absent = [] if "started_at" in keys else ["started_at"]
    if "direction" not in keys and not ("caller" in keys and "callee" in keys):
        absent.append("direction (or caller and callee)")
    if not {"disposition", "talk_s", "answered_at"} & set(keys):
        absent.append("disposition (or talk_s or answered_at)")
    if absent:
        raise MissingColumnsError(
            f"{presets.where(source, PRESET)}: voronka.yaml 'columns' must map "
            f"{', '.join(absent)} to columns of the file"
        )


def own_lines(source: Source) -> frozenset[str]:
    plan = PLANS[source.phone_country]
    return frozenset(phone for line in source.own_lines if (phone := normalize_phone(line, plan)))


def call_rows(
    raw: RawFile,
    table: Table,
    labels: dict[str, str],
    ours: frozenset[str],
    plan: NumberingPlan,
) -> RawFile:
    """Mapped columns (canonical key → the file's column) → canonical call rows; numbers
    without `+` read by `plan` (the source's phone_country)."""
    call = partial(_call, ours=ours, plan=plan)
    raw.frame = presets.call_frame(table, labels, call, CALL_COLUMNS)
    raw.labels = _shown_labels(labels)
    raw.expected = dict(EXPECTED)
    return raw


def is_ours(party: str, ours: frozenset[str], plan: NumberingPlan) -> bool:
    """Our side of a call: an extension, a name (not a number at all, not a hidden caller),
    or an own line. A number the numbering plan does not read (a foreign number without
    `+`) is a client's, never ours: its call stays inbound or outbound, the client's phone
    unknown and counted in the file's notes."""
    if not party or party.casefold().startswith(HIDDEN_CALLER):
        return False
    return is_person(party, plan) or normalize_phone(party, plan) in ours


def is_number(party: str) -> bool:
    """Written as a phone number: more than an extension's digits, only phone punctuation."""
    digits = sum(character.isdigit() for character in party)
    return digits > 5 and NUMBER.fullmatch(party.strip()) is not None


def is_person(party: str, plan: NumberingPlan) -> bool:
    """An employee: an extension or a name, not a phone number (one the plan reads, or
    one it does not, written as a number)."""
    if not party:
        return False
    return is_extension(party) or (normalize_phone(party, plan) is None and not is_number(party))


def direction_of(caller: str, callee: str, ours: frozenset[str], plan: NumberingPlan) -> str:
    by_side = {(False, True): "inbound", (True, False): "outbound", (True, True): "internal"}
    return by_side.get((is_ours(caller, ours, plan), is_ours(callee, ours, plan)), "")


def disposition_of(r: dict, talk: str | None) -> str:
    """The disposition column's word, else answered when there was talk or an answer time."""
    if "disposition" in r:
        return presets.call_disposition(r["disposition"] or "")
    talked = talk is not None and talk.isdigit() and int(talk) > 0
    return "answered" if talked or (r.get("answered_at") or "").strip() else "no_answer"


def _call(r: dict, raw: str, ours: frozenset[str], plan: NumberingPlan) -> tuple:
    get = lambda key: (r.get(key) or "").strip()  # noqa: E731
    caller, callee = get("caller"), get("callee")
    if "direction" in r:
        direction = presets.call_direction(get("direction"))
    else:
        direction = direction_of(caller, callee, ours, plan)
    client_side = {"inbound": caller, "outbound": callee}.get(direction, "")
    our_side = {"inbound": callee, "outbound": caller, "internal": caller}.get(direction, "")
    person = is_person(our_side, plan)
    agent = get("manager") or (our_side if person else "")
    line = get("line") or ("" if person else our_side)
    talk = presets.duration_seconds(get("talk_s")) or None
    return (
        get("call_id") or presets.read_values_key(r),
        direction or None,
        line or None,
        get("client_phone") or client_side or None,
        get("started_at"),
        get("answered_at") or None,
        get("ended_at") or None,
        presets.extension_manager(agent),
        talk,
        disposition_of(r, talk),
    )


def _shown_labels(labels: dict[str, str]) -> dict[str, str]:
    """The mapping as `check` shows it: derived columns say what they come from."""
    shown = {key: column for key, column in labels.items() if key in CALL_COLUMNS}
    sides = "/".join(labels[key] for key in ("caller", "callee") if key in labels)
    if sides and "direction" in labels:
        shown.setdefault("client_phone", f"{sides} (caller inbound, callee outbound)")
    elif sides:
        shown.setdefault("direction", f"{sides} (the side that is ours)")
        shown.setdefault("client_phone", f"{sides} (the other side)")
    if "talk_s" in labels:
        shown.setdefault("disposition", f"{labels['talk_s']} (answered when above 0)")
    elif "answered_at" in labels:
        shown.setdefault("disposition", f"{labels['answered_at']} (answered when filled)")
    shown.setdefault("call_id", "(a hash of the mapped columns)")
    return shown
