"""`make test` and `make test-fast` run on two workers (pytest-xdist, `--dist loadfile`):
each test module runs whole on one worker, in its order (test_incremental and
test_dagster_monthly build on their earlier tests' warehouse), and each worker's dbt writes
a target folder of its own (tests/conftest.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.paths import DBT_PROJECT_DIR, REPO_ROOT

WORKERS = "-n 2 --dist loadfile"

# Three modules of four tests each; every test appends "<worker> <module> <test>" to a log.
MODULE = """
import os
import pytest

@pytest.mark.parametrize("n", range(4))
def test_step(n):
    with open({log!r}, "a") as log:
        log.write(f"{{os.environ['PYTEST_XDIST_WORKER']}} {{__name__}} {{n}}\\n")
"""


def recipe(target: str) -> str:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    (line,) = re.findall(rf"^{target}:.*\n\t(.*)$", makefile, flags=re.MULTILINE)
    return line


@pytest.mark.parametrize("target", ["test", "test-fast"])
def test_both_suites_run_on_two_workers_by_module(target):
    assert WORKERS in recipe(target)


def test_the_workers_run_each_module_whole_on_one_worker_in_its_order(tmp_path):
    """What the suites rely on, checked on the pytest and pytest-xdist installed: with
    pytest 9.2, xdist 3.8's `--dist loadgroup` splits marked modules across workers."""
    log = tmp_path / "log.txt"
    for name in ("test_one", "test_two", "test_three"):
        (tmp_path / f"{name}.py").write_text(MODULE.format(log=str(log)), encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *WORKERS.split()]
    subprocess.run([*command, "--rootdir", str(tmp_path), str(tmp_path)], check=True,
                   cwd=tmp_path, capture_output=True)  # fmt: skip
    runs: dict[str, list[tuple[str, int]]] = {}
    for line in log.read_text().splitlines():
        worker, module, step = line.split()
        runs.setdefault(module, []).append((worker, int(step)))
    assert sorted(runs) == ["test_one", "test_three", "test_two"]
    for module, steps in runs.items():
        assert len({worker for worker, _ in steps}) == 1, f"{module} ran on two workers"
        assert [step for _, step in steps] == [0, 1, 2, 3], f"{module} ran out of order"


def test_dbt_run_by_the_tests_writes_outside_the_project_folder():
    target = Path(os.environ["DBT_TARGET_PATH"])
    logs = Path(os.environ["DBT_LOG_PATH"])
    assert target.is_absolute() and not target.is_relative_to(DBT_PROJECT_DIR)
    assert logs.is_absolute() and not logs.is_relative_to(DBT_PROJECT_DIR)
