"""Where the project's own folders are: one constant for the repo root, the rest from it."""

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
TEMPLATES_DIR = REPO_ROOT / "reports" / "templates"

# The config a run uses when none is named: $VORONKA_CONFIG, else this file in the working
# directory (the CLI's --config default and the Dagster code location's).
CONFIG_ENV = "VORONKA_CONFIG"
DEFAULT_CONFIG = "voronka.yaml"


def configured_path(environ: Mapping[str, str] | None = None) -> str:
    """The config a run uses when none is named."""
    environ = os.environ if environ is None else environ
    return environ.get(CONFIG_ENV) or DEFAULT_CONFIG
