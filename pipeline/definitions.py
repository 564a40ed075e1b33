"""Dagster code location: the project's own voronka.yaml. Loads pipeline/defs; nothing else."""

from pipeline.defs import build_definitions
from pipeline.paths import REPO_ROOT

defs = build_definitions(REPO_ROOT / "voronka.yaml")
