"""Issue 14, "Partly holding": `kill -9` of `voronka run` during a build left dbt running.

A stand-in for `voronka run` calls pipeline.warehouse.run_dbt — where the CLI starts dbt —
with the dbt command replaced by a child that records its pid and sleeps. The stand-in is
killed with SIGKILL; its child must die with it. The same for the processes `voronka
ingest` loads large files in (pipeline.ingest.load.load_pool). (The stale render temp
files of a killed render are covered in test_report_long_values.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.paths import REPO_ROOT

PARENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipeline import warehouse

    pid_file = sys.argv[1]
    child = f"import os, time; open({pid_file!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    warehouse.dbt_command = lambda *args, **kwargs: [sys.executable, "-c", child]
    warehouse.run_dbt(None, ["build"], Path("unused.duckdb"))
    """
)

INGEST = textwrap.dedent(
    """
    import os, sys, time
    from pipeline.ingest.load import load_pool

    if __name__ == "__main__":
        pool = load_pool(1)
        worker = pool.submit(os.getpid).result()
        pool.submit(time.sleep, 120)
        open(sys.argv[1], "w").write(str(worker))
        time.sleep(120)
    """
)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize(
    "stand_in, child_name", [(PARENT, "dbt"), (INGEST, "a load process")], ids=["dbt", "ingest"]
)
def test_the_child_dies_when_the_run_is_killed(tmp_path, stand_in, child_name) -> None:
    pid_file = tmp_path / "child.pid"
    script = tmp_path / "stand_in.py"  # a file: spawned processes import their parent's main
    script.write_text(stand_in, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)], cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()):
            assert parent.poll() is None, "the stand-in run exited before starting its child"
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), f"{child_name} kept running after the run was killed"
    finally:
        parent.kill()
        if pid_file.exists() and pid_file.read_text():
            pid = int(pid_file.read_text())
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
