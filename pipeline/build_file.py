"""The build file's copy, made beside the build's start, and dbt's wait for it.

A build on an existing warehouse starts from a copy of the published file
(pipeline/warehouse.py build_copy). Nothing before dbt's first connection touches the
build file: the rebuild plan reads the published file (the same state), and dbt imports
itself and loads its parse state. So the copy runs in a thread beside them (a byte copy of
a 1.1 GB warehouse takes 0.8–3.5 s on ext4), into `<build>.copying`, renamed to the build
file when whole. dbt opens the file through the dbt-duckdb plugin
`pipeline.build_file_plugin` (dbt_project/profiles.yml), which waits for the rename
(wait_for_build_file).

Standard library only: dbt's process imports this module.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

POLL_SECONDS = 0.02
# The build file's folder, which only the profile's plugin reads (pipeline/build_file_plugin.py).
BUILD_FOLDER_ENV = "VORONKA_DBT_FOLDER"


class BuildFileError(RuntimeError):
    """The build file's copy failed, or the process making it is gone."""


def copying_path(build: Path) -> Path:
    """Where the build file is copied to before it is whole."""
    return build.with_name(build.name + ".copying")


def failed_path(build: Path) -> Path:
    """Written when the build file's copy failed, before its partial file is removed."""
    return build.with_name(build.name + ".copy-failed")


def in_build_folder(path: str) -> str:
    """`path` in the build file's folder (VORONKA_DBT_FOLDER) if that is set; an absolute
    `path` stays as it is."""
    folder = os.environ.get(BUILD_FOLDER_ENV)
    return os.path.join(folder, path) if folder else path


def wait_for_build_file(build: Path, parent: int | None = None) -> None:
    """Return once `build` may be opened: at once when no copy of it is under way (a first
    build, a `dbt` run by hand), else when the copy was renamed into place. Raise if the
    copy failed (the building process says why) or the process that started this one is
    gone, its copy thread with it (`parent`: its pid, this process's parent by default)."""
    parent = os.getppid() if parent is None else parent
    while copying_path(build).exists():
        if os.getppid() != parent:
            raise BuildFileError(f"the process copying the warehouse into {build} is gone")
        time.sleep(POLL_SECONDS)
    if failed_path(build).exists():
        raise BuildFileError(f"the copy of the published warehouse into {build} failed")


class BackgroundCopy:
    """`copy(source, partial)` in a thread, then `partial` renamed to `target`; `partial`
    exists from the start (wait_for_build_file waits while it does); if the copy fails,
    `failed_path(target)` is written and `partial` removed."""

    def __init__(self, copy, source: Path, target: Path):
        self.target = target
        self.partial = copying_path(target)
        self.seconds: float | None = None
        self._copy = copy
        self.source = source
        self._error: BaseException | None = None
        self.partial.touch()
        self._thread = threading.Thread(target=self._run, name="warehouse-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._copy(self.source, self.partial)
            os.replace(self.partial, self.target)
        except BaseException as error:  # raised again by wait()
            self._error = error
            failed_path(self.target).touch()
            self.partial.unlink(missing_ok=True)
        self.seconds = time.perf_counter() - started

    def wait(self) -> None:
        """Until the copy ended; its error, if it failed."""
        self._thread.join()
        if self._error is not None:
            raise BuildFileError(
                f"could not copy {self.source} into {self.target}: {self._error}"
            ) from self._error
