"""voronka.yaml → typed, validated objects. The only place that reads the config file.

Every mistake is reported with the key path and the line it stands on, so an operator
can fix the file without reading code. The file is capped in size, a key given twice in
one mapping is an error (YAML would keep the last one silently), and relative paths stay
inside the config's folder (a folder elsewhere is named by an absolute path, on purpose).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.names import display_name

SUPPORTED_LOCALES = ("ru", "en")
BUILTIN_SEGMENT_TYPES = ("manager", "lead_source")
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
# A real config is a few kilobytes; a huge one would cost every command minutes and GBs.
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(Exception):
    """A config mistake: the message names the file, the key and the line."""


class _Mistakes(ValueError):
    """Mistakes a model validator found, each at its own key path (relative to the model).
    Pydantic places a model validator's error at the model itself, "(top level)"; _describe
    unpacks these so the operator sees the key that is wrong, and its line."""

    def __init__(self, mistakes: list[tuple[tuple, str]]) -> None:
        super().__init__("; ".join(message for _, message in mistakes))
        self.mistakes = mistakes


def _inside_config_folder(value: Path) -> Path:
    """A relative path may not climb out of the config's folder (`../../etc`): an
    exported config must not read or write elsewhere by accident."""
    if not value.is_absolute() and Path(os.path.normpath(value)).parts[:1] == ("..",):
        raise ValueError(
            f"{value} leads outside the config's folder; a folder outside it must be given "
            "as an absolute path"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedName(_Strict):
    ru: str
    en: str

    def get(self, locale: str) -> str:
        return getattr(self, locale)


class Paths(_Strict):
    inbox: Path = Path("data/inbox")
    landing: Path = Path("data/landing")
    warehouse: Path = Path("data/warehouse.duckdb")
    reports: Path = Path("data/reports")

    _inside = field_validator("inbox", "landing", "warehouse", "reports")(_inside_config_folder)


class Quality(_Strict):
    max_reject_ratio: float = Field(0.02, ge=0, le=1)
    # Plausible years of any date in an export; a date outside is rejected with a reason.
    min_year: int = Field(2000, ge=1900, le=9999)
    max_year: int | None = Field(None, ge=1900, le=9999)  # None: the year it is read + 1


class CallsSettings(_Strict):
    conversation_min_s: int = Field(30, ge=0)
    callback_hours: int = Field(24, gt=0)


class Privacy(_Strict):
    phone_hash_key_env: str = "VORONKA_PHONE_HASH_KEY"
    phone_hash_key: str | None = None


class Manager(_Strict):
    name: str
    aliases: list[str] = []


class Formats(_Strict):
    date: str | None = None
    decimal: Literal[",", "."] = ","
    encoding: Literal["auto", "utf-8", "utf-8-sig", "cp1251"] = "auto"
    delimiter: Literal["auto", ",", ";", "\t"] = "auto"


class StatusValues(_Strict):
    won: list[str] = []
    lost: list[str] = []


class ConstantStage(_Strict):
    value: str


class Source(_Strict):
    name: str
    kind: Literal["crm", "crm_history", "calls"]
    preset: str
    files: str
    timezone: str | None = None
    columns: dict[str, str] = {}
    stage: ConstantStage | None = None
    status: StatusValues = StatusValues()
    formats: Formats = Formats()
    history_of: str | None = None
    stage_dates: dict[str, str] = {}
    own_lines: list[str] = []  # generic call logs: the company's numbers (ours, not clients')

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be lowercase letters, digits and '_', starting with a letter")
        return value

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
        "timezone", "columns", "stage", "status", "formats", "history_of", "stage_dates",
        "own_lines",
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
        long = [key for key in ("stage", "entered_at") if key in self.columns]
        if self.kind == "crm_history" and self.stage_dates and long:
            raise ValueError(
                f"columns.{long[0]} has no effect with stage_dates: a history file is long "
                "(columns: deal_id, stage, entered_at) or wide (stage_dates: a date column "
                "per stage), not both"
            )
        return self


class CallRule(_Strict):
    direction: Literal["inbound", "outbound"] | None = None
    answered: bool | None = None
    min_talk_s: int | None = Field(None, ge=0)


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

    @field_validator("key")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be lowercase letters, digits and '_', starting with a letter")
        return value

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

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be lowercase letters, digits and '_', starting with a letter")
        return value

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

    _inside = field_validator("failures_dir")(_inside_config_folder)


class Schedule(_Strict):
    day: int = Field(2, ge=1, le=28)
    hour: int = Field(6, ge=0, le=23)


class Config(_Strict):
    timezone: str = "Europe/Moscow"
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

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

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
                    _check_zone(source.timezone)
                except ValueError as error:
                    mistakes.append((("sources", i, "timezone"), str(error)))

        def kinds(kind: str) -> str:
            names = [s.name for s in self.sources if s.kind == kind]
            return f"the {kind} sources are: {', '.join(names) or 'none'}"

        for i, source in enumerate(self.sources):
            if source.history_of and source.history_of not in by_name:
                mistakes.append(
                    (
                        ("sources", i, "history_of"),
                        f"names no source: {source.history_of!r} ({kinds('crm')})",
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
            for r, recipient in enumerate(funnel.recipients):
                if recipient.locale not in SUPPORTED_LOCALES:
                    mistakes.append(
                        (
                            ("funnels", f, "recipients", r, "locale"),
                            f"unknown locale {recipient.locale!r}; expected one of "
                            f"{', '.join(SUPPORTED_LOCALES)}",
                        )
                    )
        aliases: dict[str, str] = {}
        for m, manager in enumerate(self.managers):
            for alias in [manager.name, *manager.aliases]:
                key = normalize_person_name(alias)
                if aliases.setdefault(key, manager.name) != manager.name:
                    mistakes.append(
                        (("managers", m), f"manager alias {alias!r} belongs to two managers")
                    )
        if mistakes:
            raise _Mistakes(mistakes)
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


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {value!r} (expected an IANA name like Europe/Moscow)"
        ) from error
    return value


class _DuplicateKey(yaml.YAMLError):
    """A key given twice in one mapping."""


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping: YAML keeps the last one
    silently, and a config that says two things means one of them was a mistake."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` overrides on purpose
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            with contextlib.suppress(TypeError):  # an unhashable key: SafeLoader says so
                if key in first_line:
                    raise _DuplicateKey(
                        f"line {line}: key {key!r} is given twice in one mapping (first on "
                        f"line {first_line[key]}); YAML would keep only the last: remove one"
                    )
                first_line[key] = line
        return super().construct_mapping(node, deep)


def _read_capped(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)  # never more, whatever the file is
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config ({error})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: the config is {path.stat().st_size:,} bytes, larger than "
            f"{MAX_CONFIG_BYTES:,} bytes; a config holds settings, not data"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: config must be UTF-8 ({error})") from None


def _parse(text: str) -> tuple[object, yaml.Node | None]:
    """The data and the node tree (for line numbers), from one parse."""
    loader = _ConfigLoader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    finally:
        loader.dispose()


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError naming key and line."""
    path = Path(path)
    text = _read_capped(path)
    try:
        data, root = _parse(text)
    except _DuplicateKey as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for internal in ("base_dir", "config_file"):
        if internal in data:
            raise ConfigError(f"{path}: {internal!r} is not a config key")
    try:
        return Config(**data, base_dir=path.resolve().parent, config_file=path.resolve())
    except ValidationError as error:
        raise ConfigError(_describe(path, error, root)) from None


def _describe(path: Path, error: ValidationError, root: yaml.Node | None) -> str:
    found: list[tuple[list, str]] = []
    for item in error.errors():
        loc = [part for part in item["loc"] if not _is_union_tag(part)]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, _Mistakes):
            found += [([*loc, *where], message) for where, message in cause.mistakes]
        else:
            found.append((loc, item["msg"].removeprefix("Value error, ")))
    lines = [f"{path}: {len(found)} mistake(s) in the config:"]
    for loc, message in found:
        key = ".".join(str(part) for part in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f" (line {line})" if line else ""
        lines.append(f"  - {key}{where}: {message}")
    return "\n".join(lines)


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and (part.startswith("literal[") or part in ("CustomSegment",))


def _line_of(node: yaml.Node | None, loc: list) -> int | None:
    """The 1-based line of the deepest YAML node the error location reaches."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node, best = child, child.start_mark.line + 1
    return best
