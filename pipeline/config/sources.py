"""`sources:` in voronka.yaml: one export each, read by a preset of the registry, and no
key that would not change what the preset reads."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationInfo, field_validator, model_validator

from pipeline.config.base import STRICT, slug


class _Strict(BaseModel):
    model_config = STRICT


# How numbers written without `+` are read (pipeline.transform.phones.PLANS): the ISO 3166
# code of the country whose numbering plan they follow.
PhoneCountry = Literal["RU", "KZ", "US", "CA"]


class Formats(_Strict):
    date: str | None = None
    decimal: Literal[",", "."] | None = None  # None: the preset's, else as the amounts show
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp1251"] = "auto"
    delimiter: Literal["auto", ",", ";", "\t"] = "auto"


class StatusValues(_Strict):
    won: list[str] = []
    lost: list[str] = []

    @model_validator(mode="after")
    def _apart(self) -> StatusValues:
        both = sorted({name.strip() for name in self.won} & {name.strip() for name in self.lost})
        if both:
            raise ValueError(f"{', '.join(map(repr, both))} is both won and lost")
        return self


class ConstantStage(_Strict):
    value: str


class Source(_Strict):
    name: str
    kind: Literal["crm", "crm_history", "calls"]
    preset: str
    files: str
    timezone: str | None = None
    # Config's phone_country unless the source gives its own (Config._sources_phone_country).
    phone_country: PhoneCountry = "RU"
    columns: dict[str, str] = {}
    stage: ConstantStage | None = None
    status: StatusValues = StatusValues()
    formats: Formats = Formats()
    history_of: str | None = None
    stage_dates: dict[str, str] = {}
    own_lines: list[str] = []  # generic call logs: the company's numbers (ours, not clients')

    _slug = field_validator("name")(slug)

    @field_validator("files")
    @classmethod
    def _relative_glob(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError("must be a pattern inside the inbox (no absolute path, no '..')")
        return value

    @field_validator("preset")
    @classmethod
    def _preset_of_kind(cls, value: str, info: ValidationInfo) -> str:
        """Only a preset the registry declares for the source's kind can be configured."""
        from pipeline.sources import registry  # the readers import this module

        kind = info.data.get("kind")
        if kind is not None and registry.find(kind, value) is None:
            raise ValueError(registry.unavailable(kind, value))
        return value

    @field_validator(
        "timezone", "phone_country", "columns", "stage", "status", "formats", "history_of",
        "stage_dates", "own_lines",
    )  # fmt: skip
    @classmethod
    def _has_effect(cls, value: object, info: ValidationInfo) -> object:
        """No silent keys: a key given for a source must change what its preset reads."""
        from pipeline.sources import registry

        preset = registry.find(info.data.get("kind", ""), info.data.get("preset", ""))
        problems = registry.ineffective_keys(preset, info.field_name, value) if preset else []
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _consistent_keys(self) -> Source:
        if self.kind == "crm_history" and not self.history_of:
            raise ValueError("a crm_history source needs 'history_of: <crm source name>'")
        if self.stage and "stage" in self.columns:
            raise ValueError(
                "stage has no effect when columns maps a stage column: give one of them"
            )
        if (
            self.preset == "generic"
            and "decimal" in self.formats.model_fields_set
            and "amount" not in self.columns
        ):
            raise ValueError(
                "formats.decimal has no effect: the source's columns map no amount; drop it, "
                "or map amount"
            )
        long = [key for key in ("stage", "entered_at") if key in self.columns]
        if self.kind == "crm_history" and self.stage_dates and long:
            raise ValueError(
                f"columns.{long[0]} has no effect with stage_dates: a history file is long "
                "(columns: deal_id, stage, entered_at) or wide (stage_dates: a date column "
                "per stage), not both"
            )
        return self
