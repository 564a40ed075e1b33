"""The warehouse's OS lock: one Voronka writer at a time, across processes.

The CLI commands and the Dagster writer steps (ingest's finish step, the config tables,
dbt) take the same lock file, so a CLI run and a Dagster run take turns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.config import Config

WAITING = "… another Voronka run holds the warehouse; waiting for it to finish"
HOLDING = "holds the warehouse lock"
RELEASING = "lets go of the warehouse lock"


def lock_path(config: Config) -> Path:
    return config.state_dir / "voronka.lock"


def _print(message: str) -> None:
    print(message, flush=True)


@contextmanager
def warehouse_lock(config: Config, waiting: Callable[[str], None] = _print) -> Iterator[None]:
    """Two runs on one warehouse never interleave: the second waits for the first (and
    says so through `waiting`)."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path(config))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        waiting(WAITING)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@contextmanager
def logged_warehouse_lock(config: Config, log: Callable[[str], None]) -> Iterator[None]:
    """The lock of a Dagster writer step. The run's log says when the step waits, when
    it holds the lock, and (just before it lets go) when it is done, so the log shows
    the writers' turns; the step's own start and end are not the lock's."""
    with warehouse_lock(config, waiting=log):
        log(HOLDING)
        try:
            yield
        finally:
            log(RELEASING)
