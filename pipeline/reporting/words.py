"""Names a reader sees for the model's keys and raw values: stages, steps, segment types,
the placeholders the marts write where an export had nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipeline.config import Funnel
from pipeline.reporting.model import cap_text

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

    def stage(self, key: str) -> str:
        return cap_text(self.names.get(key, key))
