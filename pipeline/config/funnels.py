"""`funnels:` in voronka.yaml: the stages, what each counts, the segments, the plan and
who gets the report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from pipeline.config.base import SLUG, STRICT, LocalizedName, slug


class _Strict(BaseModel):
    model_config = STRICT


BUILTIN_SEGMENT_TYPES = ("manager", "lead_source")


class CallRule(_Strict):
    direction: Literal["inbound", "outbound"] | None = None
    answered: bool | None = None
    min_talk_s: int | None = Field(None, ge=0)

    def least_talk_s(self, conversation_min_s: int) -> int | None:
        """The least talk time a call needs to count for the stage: its own `min_talk_s`;
        else, for a stage of answered calls, a conversation's (`calls.conversation_min_s`);
        else none."""
        if self.min_talk_s is not None:
            return self.min_talk_s
        return conversation_min_s if self.answered else None


class CrmStageName(_Strict):
    name: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_name(cls, value: object) -> object:
        """`crm_stages: ["Won"]` is the same as `crm_stages: [{name: "Won"}]`."""
        return {"name": value} if isinstance(value, str) else value


class Stage(_Strict):
    key: str
    name: LocalizedName
    calls: CallRule | None = None
    crm_stages: list[CrmStageName] = []
    crm_status: Literal["won"] | None = None

    _slug = field_validator("key")(slug)

    @model_validator(mode="after")
    def _one_rule(self) -> Stage:
        rules = [self.calls is not None, bool(self.crm_stages), self.crm_status is not None]
        if sum(rules) != 1:
            raise ValueError("a stage needs exactly one of 'calls', 'crm_stages' or 'crm_status'")
        return self


class FunnelCrm(_Strict):
    """Deals of one CRM source in a funnel: those of `pipeline`, or every deal of the
    source when no pipeline is given (one-pipeline CRMs, lead lists, opportunity tables)."""

    source: str
    pipeline: str | None = None

    def covers(self, source: str, pipeline: str | None) -> bool:
        return source == self.source and (self.pipeline is None or pipeline == self.pipeline)


class FunnelCalls(_Strict):
    source: str
    lines: list[str] = []


class CustomSegment(_Strict):
    type: str
    column: str
    name: LocalizedName | None = None  # the heading in reports; the type when absent

    @field_validator("type")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value) or value in ("total", *BUILTIN_SEGMENT_TYPES):
            raise ValueError("must be a new lowercase name (not total/manager/lead_source)")
        return value


Segment = Annotated[Literal["manager", "lead_source"] | CustomSegment, Field()]


class Plan(_Strict):
    target: int = Field(gt=0)
    months: int = Field(3, gt=0, le=24)


class Recipient(_Strict):
    email: str
    locale: str = "ru"


class Funnel(_Strict):
    id: str
    name: LocalizedName
    crm: list[FunnelCrm] = []
    calls: FunnelCalls | None = None
    reach: Literal["implied", "strict", "any"] = "implied"
    window_days: int = Field(90, gt=0)
    link_days: int = Field(30, ge=0)
    segments: list[Segment] = ["manager", "lead_source"]
    plan: Plan | None = None
    recipients: list[Recipient] = []
    stages: list[Stage] = Field(min_length=2)

    _slug = field_validator("id")(slug)

    @model_validator(mode="after")
    def _consistent(self) -> Funnel:
        keys = [stage.key for stage in self.stages]
        if len(set(keys)) != len(keys):
            raise ValueError(f"stage keys repeat: {keys}")
        if any(stage.calls for stage in self.stages) and self.calls is None:
            raise ValueError("a stage counts calls, so the funnel needs 'calls: {source: …}'")
        if any(stage.crm_stages or stage.crm_status for stage in self.stages) and not self.crm:
            raise ValueError("a stage counts CRM deals, so the funnel needs 'crm: [{source: …}]'")
        for source in {crm.source for crm in self.crm}:
            pipelines = [crm.pipeline for crm in self.crm if crm.source == source]
            if len(pipelines) > 1 and (None in pipelines or len(set(pipelines)) < len(pipelines)):
                raise ValueError(
                    f"crm source {source!r} is listed twice: give each pipeline once, or the "
                    "source once without a pipeline for all its deals"
                )
        types = [s if isinstance(s, str) else s.type for s in self.segments]
        if len(set(types)) != len(types):
            raise ValueError(f"segment types repeat: {types}")
        return self

    @property
    def segment_types(self) -> list[str]:
        return [s if isinstance(s, str) else s.type for s in self.segments]
