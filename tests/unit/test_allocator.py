"""polars' allocator keeps freed memory 10 s before giving it back (pipeline/__init__.py):
set before polars is imported, unless the environment already sets it."""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline.paths import REPO_ROOT

SHOW = "import pipeline.config, polars, os; print(os.environ.get('_RJEM_MALLOC_CONF'))"


def _conf_after_import(extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"} | extra
    done = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_polars_reads_the_decay_set_before_it_is_imported():
    conf = _conf_after_import({})
    # polars puts its own setting first; jemalloc takes the last value of a key
    assert conf.endswith(",dirty_decay_ms:10000,muzzy_decay_ms:0"), conf


def test_a_setting_of_the_environment_is_left_alone():
    conf = _conf_after_import({"_RJEM_MALLOC_CONF": "dirty_decay_ms:1"})
    assert conf.endswith(",dirty_decay_ms:1"), conf
    assert "10000" not in conf
