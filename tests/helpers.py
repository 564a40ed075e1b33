"""Small helpers shared by tests."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config, load_config
from pipeline.paths import REPO_ROOT

DEMO_ZONE = "Europe/Moscow"


def copy_demo_config(target_dir: Path, timezone: str = DEMO_ZONE) -> Config:
    """The project's demo config, with its data folder inside target_dir; `timezone` sets
    the business zone and the zone of every source that names one (the demo's exports
    written in another zone: write_demo_exports(..., timezone=...))."""
    target_dir.mkdir(parents=True, exist_ok=True)
    text = (REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8")
    assert f"timezone: {DEMO_ZONE}" in text
    text = text.replace(f"timezone: {DEMO_ZONE}", f"timezone: {timezone}")
    (target_dir / "voronka.yaml").write_text(text, encoding="utf-8")
    return load_config(target_dir / "voronka.yaml")
