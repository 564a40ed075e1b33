"""Where the project's own folders are: one constant for the repo root, the rest from it."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
TEMPLATES_DIR = REPO_ROOT / "reports" / "templates"
