"""Report wording per locale: reports/labels/<locale>.toml, the only place the report's
own text lives.

Stage and funnel names come from the config; everything else a reader sees is in those
files. Keys are identical across locales (a unit test checks it). "Clients" is the plain
word for the funnel's entities (deals and call leads alike), used everywhere.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import MappingProxyType

from pipeline.config import SUPPORTED_LOCALES
from pipeline.paths import REPO_ROOT

LABELS_DIR = REPO_ROOT / "reports" / "labels"


def _read(path: Path) -> MappingProxyType[str, str]:
    with path.open("rb") as handle:
        return MappingProxyType(tomllib.load(handle))


LABELS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {locale: _read(LABELS_DIR / f"{locale}.toml") for locale in SUPPORTED_LOCALES}
)


def labels_for(locale: str) -> MappingProxyType[str, str]:
    try:
        return LABELS[locale]
    except KeyError:
        raise ValueError(f"no report labels for locale {locale!r}; have {sorted(LABELS)}") from None
