"""A build that copies the published warehouse copies it in the background, beside the
rebuild plan and dbt's start; dbt opens the build file only once it is whole."""

import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from pipeline import warehouse
from pipeline.build_file import BuildFileError, copying_path, wait_for_build_file
from pipeline.paths import DBT_PROJECT_DIR
from pipeline.warehouse import build_copy


@pytest.fixture
def gated_copy(monkeypatch):
    """The build's byte copy waits for the test's go (a slow disk, made explicit); `fail`
    makes it raise instead."""
    gate = threading.Event()
    state = {"fail": None}
    real_copy = warehouse.clone_or_copy

    def copy(source, target):
        assert gate.wait(30), "the test never let the copy go"
        if state["fail"]:
            raise OSError(state["fail"])
        real_copy(source, target)

    monkeypatch.setattr(warehouse, "clone_or_copy", copy)
    return SimpleNamespace(gate=gate, state=state)


def dbt_opens(path: Path) -> threading.Thread:
    """dbt-duckdb opening the build file (through the profile's plugin), in a thread."""
    from pipeline.build_file_plugin import Plugin  # imports dbt: only the tests that open

    opener = threading.Thread(
        target=Plugin("build_file_plugin", {}).update_connection_config,
        args=(SimpleNamespace(path=str(path)), {}),
    )
    opener.start()
    return opener


def test_the_copy_runs_beside_the_build_and_dbt_opens_the_file_once_whole(tmp_path, gated_copy):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"published" * 1000)
    with build_copy(published) as build_file:
        assert build_file.copy is not None
        assert build_file.starts_from == published, "the plan reads the same state meanwhile"
        assert not build_file.path.exists()
        assert copying_path(build_file.path).exists()
        opener = dbt_opens(build_file.path)
        opener.join(0.3)
        assert opener.is_alive(), "dbt must not open a file still being copied"
        gated_copy.gate.set()
        opener.join(10)
        assert not opener.is_alive()
        assert build_file.path.read_bytes() == b"published" * 1000
        assert not copying_path(build_file.path).exists()
        build_file.path.write_bytes(b"built")
    assert published.read_bytes() == b"built"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_every_build_on_a_warehouse_starts_from_a_copy_of_the_published_file(tmp_path):
    """Not from an older generation: the rebuild plan then starts from the last build's
    state, and a new month recomputes that month's changes only."""
    published = tmp_path / "warehouse.duckdb"
    started_with = []
    for content in (b"gen 1", b"gen 2", b"gen 3"):
        with build_copy(published) as build_file:
            assert build_file.starts_from == (published if started_with else build_file.path)
            wait_for_build_file(build_file.path)
            started_with.append(build_file.path.read_bytes() if started_with else None)
            build_file.path.write_bytes(content)
    assert started_with == [None, b"gen 1", b"gen 2"]
    assert published.read_bytes() == b"gen 3"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_a_failed_copy_fails_dbt_and_leaves_the_published_file(tmp_path, gated_copy):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"published")
    gated_copy.state["fail"] = "No space left on device"
    with pytest.raises(BuildFileError, match="copy"), build_copy(published) as build_file:
        opener_error = []
        gated_copy.gate.set()
        try:
            wait_for_build_file(build_file.path)
        except BuildFileError as error:
            opener_error.append(error)
            raise
    assert opener_error, "dbt's wait ends with an error, not a new empty database"
    assert published.read_bytes() == b"published"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_a_block_that_never_waited_still_fails_with_the_copy(tmp_path, gated_copy):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"published")
    gated_copy.state["fail"] = "No space left on device"
    gated_copy.gate.set()
    with pytest.raises(BuildFileError, match="No space left on device"), build_copy(published):
        pass
    assert published.read_bytes() == b"published"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_without_a_copy_dbt_opens_at_once(tmp_path):
    """A first build (DuckDB creates the file), a `dbt` run by hand."""
    wait_for_build_file(tmp_path / "new.duckdb")
    (tmp_path / "old.duckdb").write_bytes(b"x")
    wait_for_build_file(tmp_path / "old.duckdb")


def test_dbt_stops_waiting_when_the_copying_process_is_gone(tmp_path):
    """The building process died mid-copy (its thread with it): dbt, its child, must end
    instead of waiting for a file that will never come."""
    build = tmp_path / "warehouse.build.duckdb"
    copying_path(build).touch()
    said = tmp_path / "said.txt"
    launcher = f"""
import os, subprocess, sys
subprocess.Popen([sys.executable, "-c", {CHILD!r}, {str(build)!r}, str(os.getpid()), {str(said)!r}])
"""
    subprocess.run([sys.executable, "-c", launcher], check=True)  # exits at once
    for _ in range(500):
        if said.exists() and said.read_text():
            break
        time.sleep(0.02)
    assert said.exists(), "dbt kept waiting for a copy nobody makes"
    assert "is gone" in said.read_text()


CHILD = """
import sys
from pathlib import Path
from pipeline.build_file import BuildFileError, wait_for_build_file
try:
    wait_for_build_file(Path(sys.argv[1]), parent=int(sys.argv[2]))
except BuildFileError as error:
    Path(sys.argv[3]).write_text(str(error))
"""


def test_dbt_opens_the_warehouse_through_the_plugin():
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    plugins = profile["voronka"]["outputs"]["duckdb"]["plugins"]
    assert {"module": "pipeline.build_file_plugin"} in plugins
