"""`funnels:` in voronka.yaml: the stages, what each counts, the segments, the plan and
who gets the report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from pipeline.config.base import SLUG, STRICT, LocalizedName, Mistakes, slug


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

    @model_validator(mode="after")
    def _dates_in_order(self) -> CrmStageName:
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError(
                f"valid_from {self.valid_from} is after valid_to {self.valid_to}: the name "
                "would map no entry"
            )
        return self

    def overlaps(self, other: CrmStageName) -> bool:
        """Whether the two map an entry of some day alike (the same name, dates that meet)."""
        return (
            self.name.strip() == other.name.strip()
            and (self.valid_from or dt.date.min) <= (other.valid_to or dt.date.max)
            and (other.valid_from or dt.date.min) <= (self.valid_to or dt.date.max)
        )


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
        mistakes = self._stage_mistakes()
        if "link_days" in self.model_fields_set and self.calls is None:
            mistakes.append(
                (("link_days",), "changes nothing: it links calls to deals, and the funnel "
                 "counts no calls; drop it, or give the funnel 'calls: {source: …}'")
            )  # fmt: skip
        if mistakes:
            raise Mistakes(mistakes)
        return self

    def _stage_mistakes(self) -> list[tuple[tuple, str]]:
        """The won stage not last (a deal reaching a stage after it would count as won:
        reaching a stage means passing every earlier one); a CRM stage name two stages map
        alike."""
        mistakes: list[tuple[tuple, str]] = []
        last = len(self.stages) - 1
        for index, stage in enumerate(self.stages):
            if stage.crm_status == "won" and index != last:
                mistakes.append(
                    (("stages", index, "crm_status"), "the won stage must be the funnel's last: "
                     f"a deal reaching '{self.stages[last].key}' after it would count as won")
                )  # fmt: skip
        mapped: list[tuple[str, CrmStageName]] = []
        for index, stage in enumerate(self.stages):
            for number, name in enumerate(stage.crm_stages):
                taken = next((key for key, other in mapped if name.overlaps(other)), None)
                if taken is not None:
                    mistakes.append(
                        (("stages", index, "crm_stages", number), f"CRM stage {name.name!r} is "
                         f"mapped to stage '{taken}' already: an entry would count for both; "
                         "give the two disjoint valid_from/valid_to dates if it was renamed")
                    )  # fmt: skip
            mapped += [(stage.key, name) for name in stage.crm_stages]
        return mistakes

    @property
    def segment_types(self) -> list[str]:
        return [s if isinstance(s, str) else s.type for s in self.segments]
