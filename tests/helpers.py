"""Small helpers shared by tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.config import Config, load_config
from pipeline.paths import REPO_ROOT


def copy_demo_config(target_dir: Path) -> Config:
    """The project's demo config, with its data folder inside target_dir."""
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "voronka.yaml", target_dir / "voronka.yaml")
    return load_config(target_dir / "voronka.yaml")
