"""The `bitrix24` preset: the deals export (label headers, CSV or XLSX, matched by name —
Bitrix24 documents no column order) and the stage history (`crm.stagehistory.list`).

Deals: status by stage name — a stage in the won list is won, in the lost list lost
(defaults: the system stages «Сделка успешна» / «Сделка провалена», «Анализ причины
провала» and their English labels; `status: {won: […], lost: […]}` in the config adds
renamed ones). Without a pipeline column (a portal with one pipeline) every deal is in
the pipeline `default`. The export's «Дата завершения» is the *planned* close date
while a deal is open, so it is kept only for closed deals.

History (kind crm_history, `history_of` the deals source): rows `ID, TYPE_ID (1 created,
2 moved, 3 final), OWNER_ID, CREATED_TIME, CATEGORY_ID, STAGE_SEMANTIC_ID, STAGE_ID`:
every row is an exact stage entry of deal OWNER_ID at CREATED_TIME; the stage is the
STAGE_ID as written (`NEW`, `C2:PREPARATION`, `WON`) — the funnel maps those ids in its
`crm_stages`. STAGE_SEMANTIC_ID S/F (won/lost) is reported in the notes; the deal's
status itself comes from the deals export.
"""

from __future__ import annotations

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.crm_deals import CrmPreset, read_deals
from pipeline.sources.history_files import HistoryPreset, read_history
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile

WON = ("Сделка успешна", "Успешно", "Deal won", "Won", "Closed won")
LOST = (
    "Сделка провалена",
    "Анализ причины провала",
    "Провалена",
    "Deal lost",
    "Lost",
    "Analyze failure",
    "Analyse failure",
    "Closed lost",
)

PRESET = CrmPreset(
    name="bitrix24",
    columns=(
        Column("deal_id", ("ID",), required=True),
        Column(
            "created_at", ("Дата создания", "Created", "Created on", "Date created"), required=True
        ),
        Column("stage", ("Стадия сделки", "Стадия", "Deal stage", "Stage"), required=True),
        Column("crm_pipeline", ("Воронка", "Направление", "Pipeline", "Category")),
        Column("manager", ("Ответственный", "Responsible", "Responsible person")),
        Column("amount", ("Сумма", "Amount", "Opportunity", "Total")),
        Column("currency", ("Валюта", "Currency")),
        Column(
            "closed_at",
            (
                "Дата завершения",
                "Дата закрытия",
                "Предполагаемая дата закрытия",
                "Closed on",
                "Close date",
                "End date",
                "Estimated close date",
            ),
        ),
        Column("lead_source", ("Источник", "Source")),
        Column("lost_reason", ("Причина отказа", "Причина провала", "Loss reason", "Lost reason")),
        Column("modified_at", ("Дата изменения", "Modified", "Modified on", "Date modified")),
        Column("attr:deal_name", ("Название сделки", "Deal name", "Name")),
        Column("attr:city", ("Город", "City")),
        Column("attr:utm_source", ("utm_source", "UTM Source")),
        Column("attr:utm_medium", ("utm_medium", "UTM Medium")),
        Column("attr:utm_campaign", ("utm_campaign", "UTM Campaign")),
    ),
    won=WON,
    lost=LOST,
    default_pipeline="default",
)

HISTORY = HistoryPreset(
    name="bitrix24",
    columns=(
        Column("deal_id", ("OWNER_ID",), required=True),
        Column("entered_at", ("CREATED_TIME",), required=True),
        Column("stage", ("STAGE_ID",), required=True),
        Column("_semantic", ("STAGE_SEMANTIC_ID",)),
        Column("_type", ("TYPE_ID",)),
    ),
)
SEMANTICS = {"S": "won", "F": "lost"}


def read(data: bytes, name: str, source: Source) -> RawFile:
    return read_deals(data, name, source, PRESET)


def read_stage_history(data: bytes, name: str, source: Source) -> RawFile:
    raw = read_history(data, name, source, HISTORY)
    if "_semantic" in raw.frame.columns:
        raw.frame = raw.frame.with_columns(
            _note=presets.map_values(raw.frame["_semantic"], _semantic_note)
        )
    raw.frame = raw.frame.drop("_semantic", "_type", strict=False)
    return raw


def _semantic_note(value: str) -> str | None:
    meaning = SEMANTICS.get(value.strip().upper())
    return f"entries into a {meaning} stage (STAGE_SEMANTIC_ID)" if meaning else None
