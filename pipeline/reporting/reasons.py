"""Reject reasons in the reader's language.

Ingest writes each rejected row's reason in English (`rejected_rows.reason`, quoted by
`data_quality.detail`): the operator's language, with the raw value quoted. The report
prints them in its own language: the model holds the reason's shape (`reason_shape`: a
label key and the parts it quotes, the same in every locale), the template fills the
locale's wording (reports/labels/<locale>.toml, keys `reject_*`) with those parts. A
reason of a shape not listed prints as "another reason" in words of the report's language
(the text itself is in `data_quality` and `rejected_rows`): add its shape here when ingest
gains one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# (label key, pattern): the first pattern that matches the whole reason wins. Quoted raw
# values are matched greedily up to the quote that the fixed wording follows.
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.DOTALL))
    for key, pattern in (
        ("reject_not_datetime", r"'(?P<value>.*)' is not a date/time"),
        (
            "reject_dst_gap",
            r"'(?P<value>.*)' does not exist in (?P<zone>\S+) "
            r"\(the clock skips that hour at the DST change\)",
        ),
        (
            "reject_excel_early",
            r"'(?P<value>.*)' is an Excel serial date before 1900-03-01 .*",
        ),
        ("reject_two_digit_year", r"'(?P<value>.*)' has a two-digit year\b.*"),
        (
            "reject_implausible_year",
            r"'(?P<value>.*)' is in the year (?P<year>-?\d+), outside the plausible years "
            r"(?P<low>\d*)–(?P<high>\d*)\b.*",
        ),
        (
            "reject_after_read_day",
            r"'(?P<value>.*)' is after the end of the day it was read "
            r"\((?P<day>[\d-]+), (?P<zone>[^)]+)\)",
        ),
        ("reject_after_snapshot", r"'(?P<value>.*)' is after the file's snapshot time .*"),
        ("reject_after", r"'(?P<value>.*)' is after .*"),
        ("reject_not_number", r"'(?P<value>.*)' is not a number"),
        ("reject_not_seconds", r"'(?P<value>.*)' is not a whole number of seconds"),
        ("reject_not_phone", r"'(?P<value>.*)' is not a phone( number)?"),
        ("reject_unknown_disposition", r"unknown disposition '(?P<value>.*)'"),
        ("reject_no_direction", r"cannot tell the call direction"),
        ("reject_empty_call_id", r"call id is empty"),
        ("reject_empty_deal_id", r"deal id is empty"),
        ("reject_empty_stage", r"stage is empty"),
        ("reject_empty_entered_at", r"stage entry date is empty"),
        ("reject_empty_created_at", r"creation date is empty"),
        ("reject_empty_started_at", r"start time is empty"),
        (
            "reject_fields_vs_header",
            r"the record has (?P<count>\d+) fields, the header (?P<width>\d+)"
            r"(?P<truncated> \(a truncated line\?\))?",
        ),
        (
            "reject_fields_asterisk",
            r"the record has (?P<count>\d+) fields; Asterisk cdr-csv writes 16, 17 or 18",
        ),
        (
            "reject_fields_vs_list",
            r"the record has (?P<count>\d+) fields, the field list (?P<width>\d+)",
        ),
        (
            "reject_call_ends_before_start",
            r"the call ends \('(?P<ended>.*)'\) before it starts \('(?P<started>.*)'\)",
        ),
        (
            "reject_value_too_long",
            r"the value is (?P<length>[\d,]+) characters long; at most (?P<limit>[\d,]+) are read",
        ),
        ("reject_unclosed_quote", r"a quote opened in this line is never closed\b.*"),
        ("reject_quoting", r"malformed quoting\b.*"),
        ("reject_none_given", r"\(no reason\)"),
    )
)


@dataclass(frozen=True)
class RejectReason:
    """A reject reason by its shape: the label key that words it and the values it quotes
    (`reject_other`, nothing quoted, for a reason of a shape not listed)."""

    key: str
    parts: tuple[tuple[str, str], ...] = ()


def reason_shape(reason: str) -> RejectReason:
    """`reason` (ingest's English) as its shape and quoted parts: no language yet."""
    for key, pattern in _SHAPES:
        match = pattern.fullmatch(reason)
        if match is None:
            continue
        parts = {name: value or "" for name, value in match.groupdict().items()}
        for name in ("length", "limit"):  # '4,096' as ingest writes it: digits only
            if name in parts:
                parts[name] = parts[name].replace(",", "")
        return RejectReason(key, tuple(parts.items()))
    return RejectReason("reject_other")


def reason_text(reason: RejectReason, labels: Mapping[str, str]) -> str:
    """A reason's shape in the labels' language."""
    parts = dict(reason.parts)
    if "truncated" in parts:
        parts["truncated"] = labels["reject_truncated"] if parts["truncated"] else ""
    return labels[reason.key].format(**parts)


def reject_reason(reason: str, labels: Mapping[str, str]) -> str:
    """`reason` (ingest's English) in the labels' language; the raw value it quotes kept."""
    return reason_text(reason_shape(reason), labels)


def known_reason(reason: str) -> bool:
    """Whether `reason` has a listed shape (tests hold ingest's reasons against this)."""
    return any(pattern.fullmatch(reason) for _, pattern in _SHAPES)
