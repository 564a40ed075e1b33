"""Extract: one module per preset turns a file's bytes into a raw, all-string polars frame
with canonical column names, plus the records it could not read (`RawFile`).

Adding a preset = a module with `read(data, name, source) -> RawFile` registered in
`READERS` below. Nothing here imports Dagster or touches the landing folder.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import Source
from pipeline.sources import (
    amocrm,
    bitrix24,
    hubspot,
    mango,
    pipedrive,
    salesforce,
    sipuni,
    streamed,
    twilio,
)
from pipeline.sources.errors import MissingColumnsError, SourceError
from pipeline.sources.raw import RawFile

Reader = Callable[[bytes, str, Source], RawFile]

# (kind, preset) → reader.
READERS: dict[tuple[str, str], Reader] = {
    ("calls", "asterisk"): streamed.read_asterisk,  # asterisk.read: the careful reference
    ("crm", "generic"): streamed.read_generic,  # generic.read: the careful reference
    ("crm_history", "generic"): streamed.read_generic,
    ("crm", "amocrm"): amocrm.read,
    ("crm", "bitrix24"): bitrix24.read,
    ("crm_history", "bitrix24"): bitrix24.read_stage_history,
    ("crm", "hubspot"): hubspot.read,
    ("crm", "pipedrive"): pipedrive.read,
    ("crm_history", "pipedrive"): pipedrive.read_flow,
    ("crm", "salesforce"): salesforce.read,
    ("crm_history", "salesforce"): salesforce.read_opportunity_history,
    ("calls", "mango"): mango.read,
    ("calls", "sipuni"): sipuni.read,
    ("calls", "twilio"): twilio.read,
}


def reader_for(source: Source) -> Reader:
    try:
        return READERS[(source.kind, source.preset)]
    except KeyError:
        supported = ", ".join(f"{preset} ({kind})" for kind, preset in READERS)
        raise SourceError(
            f"preset {source.preset!r} for kind {source.kind!r} is not implemented yet; "
            f"implemented: {supported}"
        ) from None


def read_file(data: bytes, name: str, source: Source) -> RawFile:
    """Bytes of one export → RawFile, by the source's preset. Raises SourceError."""
    return reader_for(source)(data, name, source)


__all__ = ["READERS", "MissingColumnsError", "RawFile", "SourceError", "read_file", "reader_for"]
