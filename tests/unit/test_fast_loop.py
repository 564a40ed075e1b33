"""`make test-fast` runs on two workers (pytest-xdist): every module of it that runs dbt on
the project's own target folder (dbt_project/target) carries RUNS_DBT_IN_PROJECT_TARGET, so
those modules share one worker and no two dbt processes write that folder at once."""

from __future__ import annotations

import re
import shlex

from pipeline.paths import REPO_ROOT

# How a test module reaches the real dbt on the project folder: the CLI's runner or build,
# the Dagster manifest's `dbt parse`, or the demo fixtures (`voronka ingest` + `build`).
RUNS_DBT = re.compile(
    r"from pipeline\.warehouse import [^\n]*\b(run_dbt|build_warehouse)\b"
    r"|\bprepare_dbt_manifest\(|\bdemo_in_zone\b|\bdemo_run\b"
)


def make_variable(name: str) -> list[str]:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    (value,) = re.findall(rf"^{name} := (.*)$", text, flags=re.MULTILINE)
    return shlex.split(value)


def fast_modules() -> list[str]:
    left_out = {
        arg.split("=", 1)[1]
        for arg in make_variable("FAST_LEAVE_OUT")
        if arg.startswith("--ignore=")
    }
    modules = []
    for entry in make_variable("FAST_TESTS"):
        path = REPO_ROOT / entry
        files = sorted(path.rglob("test_*.py")) if path.is_dir() else [path]
        modules += [f.relative_to(REPO_ROOT).as_posix() for f in files]
    return [module for module in modules if module not in left_out]


def test_the_fast_loop_groups_its_workers_by_the_mark():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    (recipe,) = re.findall(r"^test-fast:.*\n\t(.*)$", makefile, flags=re.MULTILINE)
    assert "--dist loadgroup" in recipe  # without it, xdist ignores the groups


def test_every_fast_module_that_runs_dbt_on_the_project_carries_the_mark():
    running_dbt, unmarked = [], []
    for module in fast_modules():
        source = (REPO_ROOT / module).read_text(encoding="utf-8")
        if RUNS_DBT.search(source):
            running_dbt.append(module)
            if "pytestmark = RUNS_DBT_IN_PROJECT_TARGET" not in source:
                unmarked.append(module)
    assert "tests/e2e/test_dbt_unit_tests.py" in running_dbt
    assert "tests/e2e/test_dagster_targets.py" in running_dbt
    assert not unmarked, f"add `pytestmark = RUNS_DBT_IN_PROJECT_TARGET` to {unmarked}"
