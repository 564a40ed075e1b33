"""Make the dbt manifest Dagster needs (`dbt parse`), outside `dagster dev` (tests, CI, make)."""

import subprocess
from pathlib import Path

from pipeline import io
from pipeline.config import load_config
from pipeline.paths import DBT_PROJECT_DIR, REPO_ROOT
from pipeline.warehouse import (
    DUCKDB,
    build_file_path,
    cli_target_dir,
    dbt_command,
    dbt_process_environment,
)

# Where the code location reads the manifest (dagster-dbt's DbtProject: <project>/target).
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def prepare_dbt_manifest(config_path: Path | str = REPO_ROOT / "voronka.yaml") -> None:
    """`dbt parse` into dbt's target folder (DBT_TARGET_PATH if set, else
    dbt_project/target), then its manifest into dbt_project/target, replaced whole: a
    process reading it never sees half a file while another parses (the test suite sets
    DBT_TARGET_PATH per worker, tests/conftest.py). Parsed as a build of the config at
    `config_path` (the project's own voronka.yaml unless named) would parse (its vars, its
    profile), so the parse state it leaves there serves the next build
    (pipeline.warehouse.location_environment)."""
    config = load_config(config_path)
    build = build_file_path(config.warehouse_path)
    subprocess.run(
        dbt_command(config, ["parse"], DUCKDB),
        cwd=DBT_PROJECT_DIR,
        check=True,
        capture_output=True,
        env=dbt_process_environment(config, DUCKDB, build),
    )
    parsed = cli_target_dir() / "manifest.json"
    if parsed.resolve() != MANIFEST.resolve():
        io.write_text_atomic(MANIFEST, parsed.read_text(encoding="utf-8"))


if __name__ == "__main__":
    prepare_dbt_manifest()
