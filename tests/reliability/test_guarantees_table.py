"""docs/operating.md's "What Voronka guarantees" table: every row names, in its Test
column, a test module of tests/reliability/ that exists (and, when it names one, a test
function of that module), and every test module of tests/reliability/ is named by a row.
A renamed or removed test leaves no row pointing at nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pipeline.paths import REPO_ROOT

HERE = Path(__file__).parent
OPERATING = REPO_ROOT / "docs" / "operating.md"
HEADING = "## What Voronka guarantees"
NAMED = re.compile(r"`(test_\w+\.py)(?:::(test_\w+))?`")


def table_rows() -> list[str]:
    text = OPERATING.read_text(encoding="utf-8")
    assert HEADING in text, f"{OPERATING} has no {HEADING!r} section"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return rows[2:]  # the header and its rule left out


def functions_of(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_row_names_a_test_that_exists() -> None:
    rows = table_rows()
    assert len(rows) >= 10
    for row in rows:
        test_cell = row.rstrip().rstrip("|").rsplit("|", 1)[1]
        named = NAMED.findall(test_cell)
        assert named, f"a row names no test: {row[:80]}"
        for module_name, function in named:
            module = HERE / module_name
            assert module.is_file(), f"{module_name} (named in docs/operating.md) does not exist"
            if function:
                assert function in functions_of(module), (
                    f"{module_name}::{function} (named in docs/operating.md) does not exist"
                )


def test_every_reliability_module_has_a_row() -> None:
    named = {module for row in table_rows() for module, _ in NAMED.findall(row)}
    modules = {path.name for path in HERE.glob("test_*.py")} - {Path(__file__).name}
    assert modules - named == set(), "modules no row of the guarantees table names"
