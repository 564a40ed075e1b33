"""How many processes load a run's files side by side (pipeline.ingest.load_processes), and
what a load in another process hands back: its result, a vanished file, an error."""

from __future__ import annotations

import sys
import types

import pytest

from pipeline.ingest import FileResult, PlannedFile, load_files
from pipeline.ingest import load as load_module
from tests.helpers import copy_demo_config

MB = 1024**2


def planned(*sizes_mb: int) -> list[PlannedFile]:
    return [
        PlannedFile("pbx", "asterisk", f"f{i}.csv", f"id{i}", signature=(size * MB, 0))
        for i, size in enumerate(sizes_mb)
    ]


@pytest.fixture
def demo_config(tmp_path):
    return copy_demo_config(tmp_path)


@pytest.fixture
def cpus(monkeypatch):
    def set_cpus(count: int) -> None:
        monkeypatch.setattr(load_module, "available_cpus", lambda: count)

    return set_cpus


def test_small_files_load_in_this_process(cpus):
    cpus(8)
    assert load_module.load_processes(planned(20, 20, 20), 1024) == 1  # 60 MB < 64 MB


def test_large_files_load_one_process_per_cpu_at_most_one_per_file(cpus):
    cpus(2)
    assert load_module.load_processes(planned(1400, 900, 170, 180), 1024) == 2
    cpus(8)
    assert load_module.load_processes(planned(1400, 900, 170), 4096) == 3  # three files
    assert load_module.load_processes(planned(1400), 1024) == 1


def test_each_process_keeps_a_quarter_gigabyte_of_the_budget_at_least(cpus):
    cpus(8)
    assert load_module.load_processes(planned(*[100] * 8), 1024) == 4
    assert load_module.load_processes(planned(*[100] * 8), 300) == 1


def test_a_file_gone_before_its_load_comes_back_as_incomplete(demo_config):
    files = [
        PlannedFile("pbx", "asterisk", "pbx/gone.csv", "id-gone", signature=(MB, 0)),
        PlannedFile("pbx", "asterisk", "pbx/also-gone.csv", "id-also", signature=(2 * MB, 0)),
    ]  # the larger starts first; the results come in the plan's order
    results = load_files(demo_config, files, processes=2)
    assert [(r.path, r.status) for r in results] == [
        ("pbx/gone.csv", "incomplete"),
        ("pbx/also-gone.csv", "incomplete"),
    ]
    assert "gone from the inbox" in results[0].message


def test_load_processes_do_not_run_the_callers_main_script(demo_config, tmp_path, monkeypatch):
    """multiprocessing runs the caller's main script again in each child it spawns (under
    `dagster job execute`, the whole dagster CLI): the load processes start without it."""
    marker = tmp_path / "the-main-script-ran"
    script = tmp_path / "caller_script.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    caller = types.ModuleType("__main__")
    caller.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", caller)
    files = [
        PlannedFile("pbx", "asterisk", "pbx/gone.csv", "id-gone", signature=(MB, 0)),
        PlannedFile("pbx", "asterisk", "pbx/also-gone.csv", "id-also", signature=(2 * MB, 0)),
    ]
    results = load_files(demo_config, files, processes=2)
    assert [r.status for r in results] == ["incomplete", "incomplete"]  # they did run
    assert sys.modules["__main__"] is caller
    assert not marker.exists()


def test_an_unexpected_error_in_a_load_process_is_raised_here(demo_config):
    files = planned(1, 1)
    files[1] = PlannedFile("no-such-source", "asterisk", "x.csv", "id-x", signature=(MB, 0))
    with pytest.raises(Exception, match="no-such-source"):
        load_files(demo_config, files, processes=2)


def test_with_on_error_a_load_process_error_is_its_files_result_and_the_others_load(
    demo_config,
):
    """An orchestrator's step (pipeline/defs/ingest.py): a file's unexpected error, in
    another process or in this one, is that file's result; the other files load on."""
    files = [
        PlannedFile("no-such-source", "asterisk", "x.csv", "id-x", signature=(2 * MB, 0)),
        PlannedFile("pbx", "asterisk", "pbx/gone.csv", "id-gone", signature=(MB, 0)),
    ]

    def on_error(file: PlannedFile, error: BaseException) -> FileResult:
        return FileResult(file.path, file.source, file.preset, "failed", message=repr(error))

    for processes in (2, 1):
        results = load_files(demo_config, files, processes=processes, on_error=on_error)
        assert [(r.path, r.status) for r in results] == [
            ("x.csv", "failed"),
            ("pbx/gone.csv", "incomplete"),
        ]
        assert "no-such-source" in results[0].message
