"""What every part of the config shares: the error type, the strict model settings, the slug
and path rules, the time zone check."""

from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

SUPPORTED_LOCALES = ("ru", "en")
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(Exception):
    """A config mistake: the message names the file, the key and the line."""


class Mistakes(ValueError):
    """Mistakes a model validator found, each at its own key path (relative to the model).
    Pydantic places a model validator's error at the model itself, "(top level)"; loading
    unpacks these so the operator sees the key that is wrong, and its line."""

    def __init__(self, mistakes: list[tuple[tuple, str]]) -> None:
        super().__init__("; ".join(message for _, message in mistakes))
        self.mistakes = mistakes


# Every config model: no unknown key, no change after validation. Each module declares its
# own base with it (ruff sees a pydantic model, whose defaults are copied, only in one file).
STRICT = ConfigDict(extra="forbid", frozen=True)


class LocalizedName(BaseModel):
    model_config = STRICT

    ru: str
    en: str

    def get(self, locale: str) -> str:
        return getattr(self, locale)


def slug(value: str) -> str:
    """A name used as a key (source, funnel, stage): `field_validator(...)(slug)`."""
    if not SLUG.match(value):
        raise ValueError("must be lowercase letters, digits and '_', starting with a letter")
    return value


def inside_config_folder(value: Path) -> Path:
    """A relative path may not climb out of the config's folder (`../../etc`): an
    exported config must not read or write elsewhere by accident."""
    if not value.is_absolute() and Path(os.path.normpath(value)).parts[:1] == ("..",):
        raise ValueError(
            f"{value} leads outside the config's folder; a folder outside it must be given "
            "as an absolute path"
        )
    return value


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {value!r} (expected an IANA name like Europe/Moscow)"
        ) from error
    return value
