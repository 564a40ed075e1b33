"""Names a reader sees for the model's keys and raw values: stages, steps, segment types,
the placeholders the marts write where an export had nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipeline.config import Funnel
from pipeline.reporting.model import cap_text
from pipeline.reporting.reasons import RejectReason, reason_text
from pipeline.reporting.sections.trends import TrendPanel
from pipeline.transform.phones import mask_phones

# Placeholder values the marts write where the export had nothing.
UNKNOWN = "(unknown)"
NOT_GIVEN = "(not given)"
NO_STAGE = "(none)"


def display_value(value: str | None, labels: Mapping[str, str]) -> str:
    """A segment, manager or reason as a reader should see it (placeholders localized)."""
    if value is None or value == UNKNOWN:
        return labels.get("value_unknown", UNKNOWN)
    if value == NOT_GIVEN:
        return labels.get("reason_not_given", NOT_GIVEN)
    if value == NO_STAGE:
        return labels.get("stage_none", NO_STAGE)
    return value


def step_label(names: Mapping[str, str], keys: Sequence[str], key: str) -> str:
    """'Встреча → КП' for the step that starts at stage `key`."""
    if key not in keys:
        return names.get(key, key)
    position = keys.index(key)
    following = keys[position + 1] if position + 1 < len(keys) else None
    current = names.get(key, key)
    return f"{current} → {names.get(following, following)}" if following else current


def segment_type_title(
    funnel: Funnel, segment_type: str, locale: str, labels: Mapping[str, str]
) -> str:
    """The config's localized name for a custom segment type, else the label's."""
    for segment in funnel.segments:
        if not isinstance(segment, str) and segment.type == segment_type and segment.name:
            return segment.name.get(locale)
    return labels.get(f"segment_type_{segment_type}", segment_type)


class Words:
    """The names of one funnel in one locale, for the templates (`w`): what the model
    holds as keys and raw values, as a reader sees them, capped like every printed text."""

    def __init__(self, funnel: Funnel, locale: str, labels: Mapping[str, str]) -> None:
        self.funnel = funnel
        self.locale = locale
        self.labels = labels
        self.names = {stage.key: stage.name.get(locale) for stage in funnel.stages}
        self.keys = [stage.key for stage in funnel.stages]

    @property
    def funnel_name(self) -> str:
        return cap_text(self.funnel.name.get(self.locale))

    def stage(self, key: str) -> str:
        """A stage of the funnel by its key; another CRM stage as the mart wrote it."""
        return cap_text(self.names[key] if key in self.names else display_value(key, self.labels))

    def step(self, key: str) -> str:
        """'Встреча → КП': the step that starts at stage `key`."""
        return cap_text(step_label(self.names, self.keys, key))

    def path(self, keys: Sequence[str]) -> str:
        """Stages in a row: 'Звонок → Договор'."""
        return cap_text(" → ".join(self.names.get(key, key) for key in keys))

    def value(self, value: str | None) -> str:
        """A manager, segment or reason from the data (placeholders in words), its phones
        masked: an export's free text (a lost reason: "call back on 8 926 …") may hold one."""
        return cap_text(mask_phones(display_value(value, self.labels)))

    def text(self, value: str | None) -> str:
        """Text from the exports as they are (a file's path, a CRM stage or pipeline), its
        phones masked."""
        return cap_text(mask_phones(value or ""))

    def segment_type(self, segment_type: str) -> str:
        return cap_text(segment_type_title(self.funnel, segment_type, self.locale, self.labels))

    def segment(self, segment_type: str, segment: str | None) -> str:
        """'Менеджер: Иванов Иван'."""
        title = segment_type_title(self.funnel, segment_type, self.locale, self.labels)
        return cap_text(f"{title}: {mask_phones(display_value(segment, self.labels))}")

    def reason(self, reason: RejectReason) -> str:
        """A rejected row's reason in the report's language, the raw value it quotes kept."""
        return cap_text(mask_phones(reason_text(reason, self.labels)))

    def panel(self, panel: TrendPanel) -> str:
        """A trends panel's title: its step, or its label (cohort size, overall)."""
        return self.step(panel.step) if panel.step else cap_text(self.labels[panel.label])
