"""The `amocrm` preset (amoCRM / Kommo): the deals export, CSV or XLSX, Russian or English
headers, current state only.

Stage status: the system stages «Успешно реализовано» (won, id 142) and «Закрыто и не
реализовано» (lost, id 143) exist under these names in every pipeline, so status comes
from the stage name alone (plus any names in `status:` of the config). Every phone column
(Рабочий телефон, Мобильный телефон, …, custom phone fields) goes to crm_deal_phones.
Tags, utm_*, city and every custom field become deal attributes, named by the header
(repeated names keep their position: `Товар`, `Товар__2`); notes, e-mails, contact
names and who-edited stamps are left out; «Дата редактирования» (the last edit) is read
for the file's snapshot time when its name has no date (`transform.snapshots`). amoCRM
exports carry no history: stage entries are inferred from consecutive snapshots (the dbt
model int_stage_entries_inferred).
The English (Kommo) spellings are the ones the UI shows; `columns:` overrides any of them.
"""

from __future__ import annotations

from pipeline.config import Source
from pipeline.sources.crm_deals import CrmPreset, read_deals
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile

WON = ("Успешно реализовано", "Closed - won", "Successfully realized", "Closed won")
LOST = ("Закрыто и не реализовано", "Closed - lost", "Closed and not realized", "Closed lost")

PRESET = CrmPreset(
    name="amocrm",
    columns=(
        Column("deal_id", ("ID",), required=True),
        Column(
            "created_at",
            ("Дата создания сделки", "Дата создания", "Created", "Date created", "Created at"),
            required=True,
        ),
        Column("stage", ("Этап сделки", "Этап", "Lead stage", "Stage", "Status"), required=True),
        Column("crm_pipeline", ("Воронка", "Pipeline"), required=True),
        Column("manager", ("Ответственный", "Responsible user", "Lead owner", "Responsible")),
        Column("amount", ("Бюджет", "Budget", "Sale")),
        Column("closed_at", ("Дата закрытия", "Closed", "Closing date", "Date closed")),
        Column("modified_at", ("Дата редактирования", "Modified", "Date modified")),
        Column("lost_reason", ("Причина отказа", "Loss reason", "Lost reason")),
        Column("lead_source", ("Источник", "Source", "Lead source")),
        Column("attr:deal_name", ("Название сделки", "Lead title", "Lead name", "Deal name")),
        Column("attr:tags", ("Теги", "Tags")),
        Column("attr:city", ("Город", "City")),
    ),
    won=WON,
    lost=LOST,
    ignored=(
        "Кем создана сделка",
        "Created by",
        "Дата редактирования",
        "Modified",
        "Date modified",
        "Кем редактирована",
        "Modified by",
        "Примечание",
        "Примечание 2",
        "Примечание 3",
        "Примечание 4",
        "Примечание 5",
        "Note",
        "Note 2",
        "Note 3",
        "Note 4",
        "Note 5",
        "Полное имя контакта",
        "Contact full name",
        "Компания контакта",
        "Contact company",
        "Ответственный за контакт",
        "Contact responsible",
        "Рабочий email",
        "Личный email",
        "Другой email",
        "Work email",
        "Personal email",
        "Other email",
        "Факс",
        "Fax",
        "Должность",
        "Position",
    ),
    other_columns_as_attributes=True,
)


def read(data: bytes, name: str, source: Source) -> RawFile:
    return read_deals(data, name, source, PRESET)
