"""Every preset, declared once: the kind of source it reads, its reader, whether large
files are read in batches, the columns it maps, the file it expects and the optional
config keys it honours.

Config validation (an unknown preset, a key that would have no effect), the readers
(`sources.read_file`), ingest's batching, `voronka check` and docs/presets.md all read
this table; no other module lists presets. Adding a preset = a reader module and one
`Preset(...)` below (and a section in docs/presets.md, which a test holds to it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pipeline.config import Source
from pipeline.sources import (
    amocrm,
    asterisk,
    bitrix24,
    generic,
    generic_calls,
    hubspot,
    mango,
    pipedrive,
    salesforce,
    sipuni,
    twilio,
)
from pipeline.sources.presets import Column, public_key
from pipeline.sources.raw import Export, RawFile
from pipeline.sources.tabular import is_excel
from pipeline.transform.deals import DEAL_COLUMNS

# A reader yields a file's batches (at least one; a file read whole is one batch).
Reader = Callable[[Export, Source], Iterator[RawFile]]
WholeReader = Callable[[bytes, str, Source], RawFile]

# The source keys beyond name, kind, preset and files; `formats.*` one by one.
OPTIONAL_KEYS = (
    "timezone",
    "phone_country",
    "columns",
    "stage",
    "status",
    "stage_dates",
    "history_of",
    "own_lines",
    "formats.date",
    "formats.decimal",
    "formats.encoding",
    "formats.delimiter",
)
# Every reader decodes text and splits fields (an XLSX file ignores both).
TEXT = frozenset({"formats.encoding", "formats.delimiter"})
# Times are read as text in the source's zone and format; `status` names outcome stages;
# deals and calls carry phones (`phone_country`: how numbers without `+` read), history
# rows none.
CRM = TEXT | {
    "timezone", "phone_country", "formats.date", "columns", "status", "stage_dates",
    "formats.decimal",
}  # fmt: skip
HISTORY = TEXT | {"timezone", "formats.date", "columns", "status", "history_of"}
CALLS = TEXT | {"timezone", "formats.date", "columns", "phone_country"}
KINDS = ("crm", "crm_history", "calls")


@dataclass(frozen=True)
class Preset:
    kind: str  # crm / crm_history / calls
    name: str
    reader: Reader
    expects: str  # the file it expects, in one sentence (docs, check)
    columns: tuple[Column, ...] = ()  # canonical column → the names it looks for
    honours: frozenset[str] = frozenset()  # OPTIONAL_KEYS that change what is read
    any_column_key: bool = False  # `columns:` may name any column (a deal attribute)
    extra_column_keys: tuple[str, ...] = ()  # `columns:` keys beyond `columns` (mango order)
    streamable: bool = False  # its reader reads a large CSV in bounded batches
    in_file_history: bool = False  # its deals files write exact stage entries

    @property
    def column_keys(self) -> tuple[str, ...]:
        """The keys `columns:` accepts (with any_column_key: these and any other)."""
        return tuple(public_key(column.key) for column in self.columns) + self.extra_column_keys


def _whole(read: WholeReader) -> Reader:
    """A reader of whole files (the bytes in memory): the file is its one batch."""

    def batches(export: Export, source: Source) -> Iterator[RawFile]:
        yield read(export.read_bytes(), export.name, source)

    return batches


def _named(keys: tuple[str, ...]) -> tuple[Column, ...]:
    """Columns a user names in `columns:` (the generic presets)."""
    return tuple(Column(key, ()) for key in keys)


def _fields(labels: dict[str, str]) -> tuple[Column, ...]:
    """A headerless layout's fields, as `check` shows them."""
    return tuple(Column(key, (field,)) for key, field in labels.items())


PRESETS: tuple[Preset, ...] = (
    Preset(
        "crm", "generic", generic.read,
        "any deals or leads table with a header row (CSV or XLSX), mapped by `columns:`",
        _named(tuple(c for c in DEAL_COLUMNS if c != "status")),
        CRM | {"stage"}, any_column_key=True, streamable=True,
    ),
    Preset(
        "crm", "amocrm", _whole(amocrm.read),
        "the amoCRM (Kommo) deals export, CSV or XLSX, Russian or English headers",
        amocrm.PRESET.columns, CRM, any_column_key=True,
    ),
    Preset(
        "crm", "bitrix24", _whole(bitrix24.read),
        "the Bitrix24 deals export, CSV or XLSX, label headers",
        bitrix24.PRESET.columns, CRM, any_column_key=True,
    ),
    Preset(
        "crm", "hubspot", _whole(hubspot.read),
        'the HubSpot deals export with its `Date entered "<stage> (<pipeline>)"` columns',
        hubspot.PRESET.columns, CRM, any_column_key=True, in_file_history=True,
    ),
    Preset(
        "crm", "pipedrive", _whole(pipedrive.read),
        "the Pipedrive deals export (`Deal - …` headers)",
        pipedrive.PRESET.columns, CRM, any_column_key=True,
    ),
    Preset(
        "crm", "salesforce", _whole(salesforce.read),
        "the Salesforce Opportunity export (API names or report labels)",
        salesforce.PRESET.columns, CRM, any_column_key=True,
    ),
    Preset(
        "crm_history", "generic", generic.read,
        "any stage-history table with a header row: deal id, stage, entered at (long), or a "
        "date column per stage (`stage_dates:`, wide)",
        _named(generic.HISTORY_COLUMNS), HISTORY | {"stage_dates"}, streamable=True,
    ),
    Preset(
        "crm_history", "bitrix24", _whole(bitrix24.read_stage_history),
        "Bitrix24 stage history (`crm.stagehistory.list`: OWNER_ID, CREATED_TIME, STAGE_ID)",
        bitrix24.HISTORY.columns, HISTORY,
    ),
    Preset(
        "crm_history", "pipedrive", _whole(pipedrive.read_flow),
        "the Pipedrive deal flow (item_id, field_key, new_value, log_time)",
        pipedrive.FLOW.columns, HISTORY,
    ),
    Preset(
        "crm_history", "salesforce", _whole(salesforce.read_opportunity_history),
        "Salesforce OpportunityHistory (OpportunityId, StageName, CreatedDate)",
        salesforce.HISTORY.columns, HISTORY,
    ),
    Preset(
        "calls", "asterisk", asterisk.read,
        "Asterisk cdr-csv `Master.csv`: no header row, 16, 17 or 18 quoted fields",
        _fields(asterisk.LABELS), CALLS - {"columns"}, streamable=True,
    ),
    Preset(
        "calls", "mango", _whole(mango.read),
        "Mango Office call statistics: the API layout (no header row, `;`, Unix times) or "
        "the web cabinet's CSV (a header row of Russian names)",
        mango.CABINET_COLUMNS, CALLS, extra_column_keys=("order",),
    ),
    Preset(
        "calls", "sipuni", _whole(sipuni.read),
        "Sipuni call statistics: `;`-separated with a Russian header row",
        sipuni.COLUMNS, CALLS,
    ),
    Preset(
        "calls", "twilio", _whole(twilio.read),
        "Twilio call records CSV (sid, start_time, from, to, direction, status, …)",
        twilio.COLUMNS, CALLS,
    ),
    Preset(
        "calls", "generic", _whole(generic_calls.read),
        "any call log with a header row (CSV or XLSX), mapped by `columns:`",
        _named(generic_calls.COLUMN_KEYS), CALLS | {"own_lines"},
    ),
)  # fmt: skip

# Combinations that do not exist, and what to do instead.
UNAVAILABLE_HINTS = {
    ("crm_history", "amocrm"): "amoCRM exports no stage history: send repeated deals exports "
    "(history from snapshots) or a history file (deal id, stage, changed at) with preset "
    "generic — docs/presets.md, 'amoCRM stage history'",
    ("crm_history", "hubspot"): "HubSpot's deals export carries its own stage history (the "
    "'Date entered' columns): the kind crm source with preset hubspot needs no history source",
}


def can_stream(source: Source, name: str) -> bool:
    """A CSV of a streamable preset may be read in batches (an XLSX never is)."""
    return preset_of(source).streamable and not is_excel(b"", name)


def presets_of(kind: str) -> tuple[Preset, ...]:
    return tuple(preset for preset in PRESETS if preset.kind == kind)


def find(kind: str, name: str) -> Preset | None:
    return next((p for p in PRESETS if (p.kind, p.name) == (kind, name)), None)


def preset_of(source: Source) -> Preset:
    """The preset a validated source names (config validation refused any other)."""
    preset = find(source.kind, source.preset)
    if preset is None:
        raise ValueError(unavailable(source.kind, source.preset))
    return preset


def unavailable(kind: str, name: str) -> str:
    valid = ", ".join(preset.name for preset in presets_of(kind))
    hint = UNAVAILABLE_HINTS.get((kind, name))
    return (
        f"preset {name!r} is not available for kind {kind!r}; presets for kind {kind!r}: "
        f"{valid}" + (f" ({hint})" if hint else "")
    )


def ineffective_keys(preset: Preset, key: str, value: object) -> list[str]:
    """Why an optional key given for a source of this preset would change nothing (one
    message per useless key or `columns:` entry; none when it is honoured)."""
    if key == "formats":
        given = [f"formats.{name}" for name in sorted(value.model_fields_set)]
        return [_no_effect(preset, name) for name in given if name not in preset.honours]
    if key not in preset.honours:
        return [_no_effect(preset, key)]
    if key == "columns" and not preset.any_column_key:
        known = preset.column_keys
        return [
            f"columns.{name}: not a column preset {preset.name!r} maps for kind "
            f"{preset.kind!r}; it maps: {', '.join(known)}"
            for name in value
            if name not in known
        ]
    return []


def _no_effect(preset: Preset, key: str) -> str:
    honoured = [k for k in OPTIONAL_KEYS if k in preset.honours]
    return (
        f"{key} has no effect on a {preset.kind!r} source with preset {preset.name!r}; "
        f"remove it (this preset reads: {', '.join(honoured)})"
    )


# --- docs/presets.md reads the registry through these (a test holds the page to them) ---


def presets_table() -> str:
    """Every preset: kind, name, the file it reads, the optional keys it honours."""
    rows = ["| kind | preset | the file it reads | optional keys it reads |", "|---|---|---|---|"]
    for preset in PRESETS:
        keys = ", ".join(f"`{key}`" for key in OPTIONAL_KEYS if key in preset.honours)
        rows.append(f"| {preset.kind} | `{preset.name}` | {preset.expects} | {keys} |")
    return "\n".join(rows)


def columns_line(preset: Preset) -> str:
    """The columns a preset maps: `columns:` keys, with the names it looks for."""

    def one(column: Column) -> str:
        names = " / ".join(column.names[:2]) + (" / …" if len(column.names) > 2 else "")
        key = f"`{public_key(column.key)}`" + ("*" if column.required else "")
        return f"{key} ← {names}" if names else key

    extra = [f"`{key}`" for key in preset.extra_column_keys]
    more = "; any other key adds a column as a deal attribute" if preset.any_column_key else ""
    return "Columns: " + ", ".join([one(column) for column in preset.columns] + extra) + more
