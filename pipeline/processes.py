"""Child processes that do not outlive Voronka, and start light.

`voronka run` starts dbt as a child process, and `voronka ingest` loads large files in
processes of its own (pipeline/ingest/load.py). If Voronka is killed (kill -9, OOM killer,
a closed terminal), nothing in it runs to stop the child, and dbt would go on writing a
build copy nobody publishes, holding the DuckDB lock against the next run. On Linux the
kernel can send the child a signal when its parent dies (prctl PR_SET_PDEATHSIG), set in
the child between fork and exec. Elsewhere there is no such hook; the child may outlive
a killed parent there.

dbt's child also starts without transparent huge pages (without_huge_pages): DuckDB asks
the kernel for them (madvise), and each 2 MB page it then faults in is zeroed whole; 13 %
of a full-scale build's CPU samples were that zeroing (docs/performance.md "Memory,
threads and the spill folder").

Children started by multiprocessing (the ingest's load processes, the PDF renderers) start
without the caller's main module (without_main_module).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# <linux/prctl.h>
PR_SET_PDEATHSIG = 1
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen: the child is killed (SIGKILL) when the thread
    that started it ends, so start the child from the thread that waits for it. None where
    the kernel has no such hook."""
    if not sys.platform.startswith("linux"):
        return None
    # Looked up here, in the parent: the child between fork and exec should do no more
    # than one system call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    return lambda: _die_with(prctl, parent)


def die_with(parent: int) -> None:
    """Called in a child process (a process pool's initializer): the child is killed
    (SIGKILL) when the thread that started it ends, or at once if `parent` is gone."""
    if sys.platform.startswith("linux"):
        _die_with(ctypes.CDLL(None, use_errno=True).prctl, parent)


def _die_with(prctl: Callable[..., int], parent: int) -> None:
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the hook was set
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def without_huge_pages() -> Iterator[None]:
    """Children started inside the block run without transparent huge pages (the flag is
    inherited at fork and kept across exec); this process gets its own setting back after.
    Nothing changes where the kernel has no such flag."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
    before = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) if prctl else -1
    changed = before >= 0 and prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        if changed:
            prctl(PR_SET_THP_DISABLE, before, 0, 0, 0)


_MAIN_LOCK = threading.Lock()


@contextmanager
def without_main_module() -> Iterator[None]:
    """Processes multiprocessing starts inside the block (spawn, forkserver) do not run
    the caller's main module: it would run a script's top level again in each child, as
    `__mp_main__` (under `dagster`, importing its whole CLI: ~1 s of CPU per child). The
    children here need only the modules their functions are imported from."""
    with _MAIN_LOCK:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main
