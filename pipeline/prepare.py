"""Make the dbt manifest Dagster needs (`dbt parse`), outside `dagster dev` (tests, CI, make)."""

import os
import subprocess

from pipeline.paths import DBT_PROJECT_DIR
from pipeline.warehouse import dbt_executable


def prepare_dbt_manifest() -> None:
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        cwd=DBT_PROJECT_DIR,
        check=True,
        capture_output=True,
        env={"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **os.environ},
    )


if __name__ == "__main__":
    prepare_dbt_manifest()
