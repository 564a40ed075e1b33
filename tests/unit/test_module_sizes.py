"""No module of pipeline/ or bench/ over 500 lines (issue 17), the demo generator
(pipeline/demo/) aside: a module that long mixes things a maintainer wants apart."""

from __future__ import annotations

from pipeline.paths import REPO_ROOT

MAX_LINES = 500
FOLDERS = ("pipeline", "bench")
LEFT_OUT = "pipeline/demo/"  # the demo generator


def test_no_module_of_pipeline_or_bench_is_over_500_lines():
    counts = {}
    for folder in FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            name = path.relative_to(REPO_ROOT).as_posix()
            if not name.startswith(LEFT_OUT):
                counts[name] = len(path.read_text(encoding="utf-8").splitlines())
    assert {"bench/run.py", "pipeline/cli.py", "pipeline/ingest/load.py"} <= set(counts)
    long = {name: lines for name, lines in counts.items() if lines > MAX_LINES}
    assert long == {}, f"split these modules (at most {MAX_LINES} lines each)"
