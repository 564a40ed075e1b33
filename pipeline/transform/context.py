"""What a transform needs to know about the file and the config, in one small value."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.transform.phones import RUSSIA, NumberingPlan
from pipeline.transform.times import TimeFormat


@dataclass(frozen=True)
class NormalizeContext:
    source: str  # the source name written to landing rows
    file_id: str
    times: TimeFormat
    decimal: str | None = None  # amounts' decimal mark; None: as they show (transform.numbers)
    decimal_fallback: str | None = None  # where they do not show it: the preset's
    manager_aliases: dict[str, str] = field(default_factory=dict)
    phone_hash_key: str = ""
    phones: NumberingPlan = RUSSIA  # how numbers without `+` are read (phone_country)
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)  # canonical column → file's column name
    expected: dict[str, str] = field(default_factory=dict)  # preset wording of expected values

    def label(self, column: str) -> str:
        return self.labels.get(column, column)

    def expects(self, column: str, default: str) -> str:
        return self.expected.get(column, default)
