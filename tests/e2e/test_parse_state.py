"""dbt keeps what it parsed for the next invocation only while the vars and the profile it
parsed with stay the same; otherwise it parses the whole project again (~6 s here).
Nothing the pipeline hands dbt's parse names a site (docs/performance.md, "dbt's parse"),
so a site's first build starts from the parse state another site's build left, or the
parse `dagster dev` runs when it loads the code location."""

from __future__ import annotations

import re
import subprocess

from pipeline.defs.dbt import dbt_project, prepare_if_dev
from pipeline.paths import CONFIG_ENV, DBT_PROJECT_DIR, REPO_ROOT
from pipeline.warehouse import build_file_path, run_dbt
from tests.helpers import copy_demo_config

WHOLE_PARSE = "Unable to do partial parsing"


def test_a_second_sites_dbt_parses_nothing_again(tmp_path, monkeypatch):
    artifacts = tmp_path / "dbt"
    monkeypatch.setenv("DBT_TARGET_PATH", str(artifacts / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(artifacts / "logs"))
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    for site in ("first", "second"):
        config = copy_demo_config(tmp_path / site)
        run_dbt(config, ["parse"], build_file_path(config.warehouse_path))
    first, second = (artifacts / "logs" / "dbt.log").read_text().split("Running with dbt")[1:]
    assert WHOLE_PARSE in first  # no parse state yet
    assert WHOLE_PARSE not in second, second[:2000]
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed" in second


def test_the_parse_dagster_dev_runs_leaves_a_state_the_next_build_uses(tmp_path, monkeypatch):
    """Under `dagster dev` the code location's config ($VORONKA_CONFIG: here a site in
    another time zone than the project's voronka.yaml, so another `timezone` var) is
    parsed as its builds parse it."""
    artifacts = tmp_path / "dbt"
    monkeypatch.setenv("DBT_TARGET_PATH", str(artifacts / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(artifacts / "logs"))
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    config = copy_demo_config(tmp_path / "site", timezone="America/New_York")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "site" / "voronka.yaml"))
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")  # what `dagster dev` sets
    prepare_if_dev(dbt_project)
    assert dbt_project.manifest_path.exists()
    assert (artifacts / "target" / "partial_parse.msgpack").exists()  # where builds look
    run_dbt(config, ["parse"], build_file_path(config.warehouse_path))
    *_, build = (artifacts / "logs" / "dbt.log").read_text().split("Running with dbt")
    assert WHOLE_PARSE not in build, build[:2000]
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed" in build


def test_make_lint_keeps_its_parse_state_apart_from_the_builds():
    """sqlfluff's dbt parses with an in-memory profile: its state in the builds' folder
    (dbt_project/target) would make the next build parse the whole project again."""
    dry_run = subprocess.run(
        ["make", "-n", "lint"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.replace("\\\n", " ")
    (command,) = [line for line in dry_run.splitlines() if "sqlfluff lint" in line]
    (target_path,) = re.findall(r"DBT_TARGET_PATH=(\S+)", command)
    assert (DBT_PROJECT_DIR / target_path).resolve() != (DBT_PROJECT_DIR / "target").resolve()
