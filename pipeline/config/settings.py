"""The whole of voronka.yaml: its top-level sections and the Config that holds them, with
the checks between entries (names that refer to other entries, aliases, ids) and the
look-ups the pipeline asks of it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, Field, field_validator, model_validator

from pipeline.config.base import (
    STRICT,
    SUPPORTED_LOCALES,
    ConfigError,
    Mistakes,
    check_zone,
    inside_config_folder,
)
from pipeline.config.funnels import Funnel
from pipeline.config.sources import PhoneCountry, Source
from pipeline.names import display_name
from pipeline.transform.phones import PLANS, normalize_phone


class _Strict(BaseModel):
    model_config = STRICT


class Paths(_Strict):
    inbox: Path = Path("data/inbox")
    landing: Path = Path("data/landing")
    warehouse: Path = Path("data/warehouse.duckdb")
    reports: Path = Path("data/reports")

    _inside = field_validator("inbox", "landing", "warehouse", "reports")(inside_config_folder)


class Quality(_Strict):
    max_reject_ratio: float = Field(0.02, ge=0, le=1)
    # Plausible years of any date in an export; a date outside is rejected with a reason.
    min_year: int = Field(2000, ge=1900, le=9999)
    max_year: int | None = Field(None, ge=1900, le=9999)  # None: the year it is read + 1

    @model_validator(mode="after")
    def _years_in_order(self) -> Quality:
        if self.max_year is not None and self.min_year > self.max_year:
            raise ValueError(
                f"min_year {self.min_year} is after max_year {self.max_year}: every date would "
                "be rejected"
            )
        return self


class CallsSettings(_Strict):
    conversation_min_s: int = Field(30, ge=0)
    callback_hours: int = Field(24, gt=0)


class Privacy(_Strict):
    phone_hash_key_env: str = "VORONKA_PHONE_HASH_KEY"
    phone_hash_key: str | None = None


class Manager(_Strict):
    name: str
    aliases: list[str] = []


# How to reach the mail server: nothing without smtp_host. (Who gets mail, sender,
# operators and the funnels' recipients, may wait there for a server to be given.)
MAIL_KEYS = {"smtp_port", "use_starttls", "username_env", "password_env"}


class Delivery(_Strict):
    """Mailing the reports and failure records (SMTP); credentials come from the environment."""

    smtp_host: str | None = None
    smtp_port: int = Field(25, gt=0, lt=65536)
    sender: str = "voronka@localhost"
    use_starttls: bool = False
    username_env: str = "VORONKA_SMTP_USER"
    password_env: str = "VORONKA_SMTP_PASSWORD"
    operators: list[str] = []  # who gets failure records
    failures_dir: Path = Path("data/failures")

    _inside = field_validator("failures_dir")(inside_config_folder)

    @model_validator(mode="after")
    def _mail_needs_a_server(self) -> Delivery:
        """The server's settings change nothing without smtp_host: nothing is mailed."""
        idle = sorted(self.model_fields_set & MAIL_KEYS) if self.smtp_host is None else []
        if idle:
            raise ValueError(
                f"{', '.join(idle)} change nothing without smtp_host: reports and failure "
                "records are written, not mailed; drop them, or give smtp_host"
            )
        return self


class Schedule(_Strict):
    day: int = Field(2, ge=1, le=28)
    hour: int = Field(6, ge=0, le=23)


class Config(_Strict):
    timezone: str = "Europe/Moscow"
    # The country whose spelling of numbers without `+` the exports use (national
    # numbers: 8 912 345-67-89 in RU, (212) 555-0101 in US); a source may give its own.
    phone_country: PhoneCountry = "RU"
    locales: list[str] = ["ru", "en"]
    # ISO 4217 code of the deal amounts, printed with every sum in the reports (RUB → ₽).
    # None: the exports' amounts are printed as bare numbers.
    currency: str | None = None
    paths: Paths = Paths()
    quality: Quality = Quality()
    calls: CallsSettings = CallsSettings()
    privacy: Privacy = Privacy()
    exclude_phones: list[str] = []
    managers: list[Manager] = []
    sources: list[Source] = Field(min_length=1)
    funnels: list[Funnel] = Field(min_length=1)
    schedule: Schedule = Schedule()
    delivery: Delivery = Delivery()
    # Where the file was read from; paths in it are relative to this folder.
    base_dir: Path = Path(".")
    config_file: Path | None = None  # the file itself (None: built in code)

    @model_validator(mode="before")
    @classmethod
    def _sources_phone_country(cls, data: object) -> object:
        """Each source of deals or calls without a phone_country of its own takes the
        config's (a valid one: a wrong value is reported once, at its own key); a history
        source reads no phone."""
        if not isinstance(data, dict) or data.get("phone_country") not in get_args(PhoneCountry):
            return data
        sources = data.get("sources")
        if not isinstance(sources, list):
            return data
        country = data["phone_country"]
        given = [
            {"phone_country": country, **source}
            if isinstance(source, dict) and source.get("kind") in ("crm", "calls")
            else source
            for source in sources
        ]
        return {**data, "sources": given}

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"must be an ISO 4217 code such as RUB, USD or EUR, got {value!r}")
        return value

    @field_validator("locales")
    @classmethod
    def _locales(cls, value: list[str]) -> list[str]:
        unknown = [loc for loc in value if loc not in SUPPORTED_LOCALES]
        if unknown or not value:
            raise ValueError(f"locales must be among {SUPPORTED_LOCALES}, got {value}")
        return value

    @model_validator(mode="after")
    def _references(self) -> Config:
        """Names that refer to other entries; each mistake at the key that refers."""
        mistakes: list[tuple[tuple, str]] = []
        by_name: dict[str, Source] = {}
        for i, source in enumerate(self.sources):
            if by_name.setdefault(source.name, source) is not source:
                mistakes.append((("sources", i, "name"), f"source {source.name!r} is named twice"))
            if source.timezone:
                try:
                    check_zone(source.timezone)
                except ValueError as error:
                    mistakes.append((("sources", i, "timezone"), str(error)))

        def kinds(kind: str) -> str:
            names = [s.name for s in self.sources if s.kind == kind]
            return f"the {kind} sources are: {', '.join(names) or 'none'}"

        for i, source in enumerate(self.sources):
            if source.history_of and getattr(by_name.get(source.history_of), "kind", None) != "crm":
                named = (
                    "names no source" if source.history_of not in by_name else "is not a crm source"
                )
                mistakes.append(
                    (
                        ("sources", i, "history_of"),
                        f"{named}: {source.history_of!r} ({kinds('crm')})",
                    )
                )
        seen_ids: set[str] = set()
        for f, funnel in enumerate(self.funnels):
            if funnel.id in seen_ids:
                mistakes.append((("funnels", f, "id"), f"funnel id {funnel.id!r} is used twice"))
            seen_ids.add(funnel.id)
            for c, crm in enumerate(funnel.crm):
                if getattr(by_name.get(crm.source), "kind", None) != "crm":
                    mistakes.append(
                        (
                            ("funnels", f, "crm", c, "source"),
                            f"{crm.source!r} is not a crm source ({kinds('crm')})",
                        )
                    )
            calls = funnel.calls
            if calls and getattr(by_name.get(calls.source), "kind", None) != "calls":
                mistakes.append(
                    (
                        ("funnels", f, "calls", "source"),
                        f"{calls.source!r} is not a calls source ({kinds('calls')})",
                    )
                )
            elif calls:
                plan = PLANS[by_name[calls.source].phone_country]
                mistakes += [
                    (("funnels", f, "calls", "lines", n), _not_a_phone(line, "line"))
                    for n, line in enumerate(calls.lines)
                    if normalize_phone(line, plan) is None
                ]
            for r, recipient in enumerate(funnel.recipients):
                if recipient.locale not in SUPPORTED_LOCALES:
                    mistakes.append(
                        (
                            ("funnels", f, "recipients", r, "locale"),
                            f"unknown locale {recipient.locale!r}; expected one of "
                            f"{', '.join(SUPPORTED_LOCALES)}",
                        )
                    )
        if "callback_hours" in self.calls.model_fields_set and not any(
            funnel.calls for funnel in self.funnels
        ):
            mistakes.append(
                (
                    ("calls", "callback_hours"),
                    "changes nothing: it is the missed-call leaks' window, and no funnel counts "
                    "calls; drop it",
                )
            )
        if "conversation_min_s" in self.calls.model_fields_set and not any(
            stage.calls.answered and stage.calls.min_talk_s is None
            for funnel in self.funnels
            for stage in funnel.stages
            if stage.calls
        ):
            mistakes.append(
                (
                    ("calls", "conversation_min_s"),
                    "changes nothing: it is the least talk time of a call stage of answered "
                    "calls (calls: {answered: true}) without a min_talk_s of its own, and no "
                    "funnel has one; drop it, or set min_talk_s on the stage",
                )
            )
        mistakes += [
            (("exclude_phones", n), _not_a_phone(phone, "phone to leave out"))
            for n, phone in enumerate(self.exclude_phones)
            if normalize_phone(phone, PLANS[self.phone_country]) is None
        ]
        aliases: dict[str, str] = {}
        for m, manager in enumerate(self.managers):
            for alias in [manager.name, *manager.aliases]:
                key = normalize_person_name(alias)
                if aliases.setdefault(key, manager.name) != manager.name:
                    mistakes.append(
                        (("managers", m), f"manager alias {alias!r} belongs to two managers")
                    )
        if mistakes:
            raise Mistakes(mistakes)
        return self

    def resolve(self, value: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        return value if value.is_absolute() else (self.base_dir / value).resolve()

    def path(self, which: str) -> Path:
        return self.resolve(getattr(self.paths, which))

    @property
    def inbox_dir(self) -> Path:
        return self.path("inbox")

    @property
    def landing_dir(self) -> Path:
        return self.path("landing")

    @property
    def warehouse_path(self) -> Path:
        return self.path("warehouse")

    @property
    def reports_dir(self) -> Path:
        return self.path("reports")

    @property
    def failures_dir(self) -> Path:
        return self.resolve(self.delivery.failures_dir)

    @property
    def state_dir(self) -> Path:
        """Locks, run records and the Dagster home live beside the warehouse."""
        return self.warehouse_path.parent / "state"

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def funnel(self, funnel_id: str) -> Funnel:
        for funnel in self.funnels:
            if funnel.id == funnel_id:
                return funnel
        known = ", ".join(f.id for f in self.funnels)
        raise ConfigError(f"unknown funnel {funnel_id!r}; configured funnels: {known}")

    def source_timezone(self, source: Source) -> str:
        return source.timezone or self.timezone

    def manager_aliases(self) -> dict[str, str]:
        """Normalized alias (and name) → canonical manager name."""
        table: dict[str, str] = {}
        for manager in self.managers:
            for alias in [manager.name, *manager.aliases]:
                table[normalize_person_name(alias)] = manager.name
        return table

    def phone_hash_key(self) -> str:
        return os.environ.get(self.privacy.phone_hash_key_env) or self.privacy.phone_hash_key or ""


def normalize_person_name(value: str) -> str:
    """Case, ё/е, spacing, compatibility forms (NFKC) and invisible characters (zero-width,
    bidi marks) do not make two different people."""
    return display_name(value).replace("ё", "е").replace("Ё", "Е").casefold()


def _not_a_phone(value: str, what: str) -> str:
    """A listed number that is not one: left as it is, a line would count every line of the
    source (no line) and a number to leave out would leave out nothing."""
    return (
        f"{value!r} is not a phone number (a {what}: +7 495 123-45-67, 8 495 123-45-67, or a "
        "national number of phone_country)"
    )
