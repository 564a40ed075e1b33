"""Several dbt commands in one process on one parse: the dbt unit-test module's commands
(tests/e2e/test_dbt_unit_tests.py) would otherwise each start Python, import dbt and parse
the project again. Run as a script by its path, from dbt_project (where `-m tests.…` would
find dbt's own tests folder first).

Its one argument is a JSON object: `parse`, the arguments of the `dbt parse` whose manifest
every command then runs on (the commands' own target, vars, target path and project);
`commands`, the commands' argument lists; `target_path`, the target path they write to.
After each command it prints COMMAND_END and a JSON line with the command's success and
its exception's text, and copies its run_results.json (if it wrote one) to
run_results-<index>.json in the target path.
It exits 0 when it ran them all, whatever their results.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

COMMAND_END = "--- dbt_batch: command finished ---"


def main(argv: list[str]) -> int:
    from dbt.cli.main import dbtRunner

    batch = json.loads(argv[0])
    parsed = dbtRunner().invoke(batch["parse"])
    if not parsed.success:
        print(f"dbt parse failed: {parsed.exception}", flush=True)
        return 1
    runner = dbtRunner(manifest=parsed.result)
    target_path = Path(batch["target_path"])
    for index, args in enumerate(batch["commands"]):
        results = target_path / "run_results.json"
        results.unlink(missing_ok=True)
        result = runner.invoke(args)
        if results.exists():
            shutil.copyfile(results, target_path / f"run_results-{index}.json")
        print(COMMAND_END, flush=True)
        outcome = {"success": result.success, "exception": str(result.exception or "")}
        print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
