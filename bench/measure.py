"""Run one stage as a child process: wall seconds and peak RSS of its whole process tree.

Peak RSS is the larger of (a) the highest sum of RSS over the child and its descendants,
sampled every 50 ms with psutil, and (b) the kernel's ru_maxrss of the child and its
reaped descendants (os.wait4), which catches a peak between two samples. With `watch`, the
peak size of that folder too, sampled alike (DuckDB's spill folder during a build).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SAMPLE_S = 0.05


@dataclass
class Measured:
    seconds: float
    peak_rss_bytes: int
    returncode: int
    output: dict = field(default_factory=dict)  # the child's last stdout line, if JSON
    log: str = ""
    killed_at_limit: bool = False
    peak_watched_bytes: int | None = None  # of the folder run_child watched


def folder_bytes(folder: Path) -> int:
    """The size of the files under `folder` (0 if it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run_child(
    args: list[str], *, limit_bytes: int | None = None, env=None, watch: Path | None = None
) -> Measured:
    """Run `python -m <args>`; kill the tree if its RSS passes limit_bytes."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    process = psutil.Process(child.pid)
    peak = 0
    watched = 0
    killed = False
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout), daemon=True)
    reader.start()
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        rss = _tree_rss(process)
        peak = max(peak, rss)
        if watch is not None:
            watched = max(watched, folder_bytes(watch))
        if limit_bytes and rss > limit_bytes and not killed:
            killed = True
            for member in [*process.children(recursive=True), process]:
                with contextlib.suppress(psutil.Error):
                    member.kill()
        time.sleep(SAMPLE_S)
    seconds = time.perf_counter() - started
    reader.join(timeout=5)
    child.returncode = os.waitstatus_to_exitcode(status)
    peak = max(peak, usage.ru_maxrss * 1024)
    output = {}
    for line in reversed(lines):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                output = json.loads(line)
            break
    return Measured(
        seconds,
        peak,
        child.returncode,
        output,
        "".join(lines[-40:]),
        killed,
        watched if watch is not None else None,
    )
