"""The inbox files' fingerprints (sha256 = file_id, and whether the bytes are UTF-8),
remembered between runs: an inbox keeps every month's exports, and hashing them all again
on every run would cost a run more each month, although only the new files are read.

A fingerprint is remembered with the file's stat: size, mtime, ctime and inode. A file
written again, in place or replaced, has another ctime (the kernel sets it on every write
and rename; no program can set it back), so it is hashed again; a file that changes while
it is hashed is not remembered. Kept in `<state>/ingest/fingerprints.json`, rewritten
whole when it changes, with the files still in the inbox as they were hashed; a file that
cannot be read as such is ignored (every file is hashed again). Safe to delete.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline import io
from pipeline.build_settings import available_cpus
from pipeline.config import Config
from pipeline.sources import fastcsv

VERSION = 1
Stat = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Fingerprint = tuple[str, str | None]  # file_id, the UTF-8 flavour of the bytes (None: not UTF-8)


def fingerprints_path(config: Config) -> Path:
    return config.state_dir / "ingest" / "fingerprints.json"


def file_stat(path: Path) -> Stat:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


class Fingerprints:
    """fastcsv.fingerprint of a config's inbox files, each hashed only when its stat is not
    the one remembered: `of(name, path)`, then `save()`. Shared by the ingest plan and the
    inbox sensor, so a file the sensor hashed is not hashed again by the run it starts."""

    def __init__(self, config: Config) -> None:
        self._path = fingerprints_path(config)
        self._inbox = config.inbox_dir
        self._known = _read(self._path)
        self._seen: dict[str, tuple[Stat, Fingerprint]] = {}

    def of(self, name: str, path: Path) -> Fingerprint:
        before = file_stat(path)
        known = self._known.get(name)
        if known is not None and known[0] == before:
            self._seen[name] = known
            return known[1]
        fingerprint = fastcsv.fingerprint(path)
        if file_stat(path) == before:  # (a file that changed meanwhile is hashed next time)
            self._seen[name] = (before, fingerprint)
        return fingerprint

    def of_all(self, files: list[tuple[str, Path]]) -> list[Fingerprint]:
        """`of` each (name, path), in order; the files to hash are hashed side by side, a
        thread each up to available_cpus() (hashlib works outside the interpreter lock: at
        full scale the history delivery's 3 GB took 2.8 s on one thread)."""
        workers = min(len(files), available_cpus())
        if workers <= 1:
            return [self.of(name, path) for name, path in files]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda file: self.of(*file), files))

    def save(self) -> None:
        """Remember the files hashed or looked up here, and keep the others remembered
        while they are still in the inbox as they were (a file gone or changed is
        forgotten); no write when that is what the file holds already."""
        kept = {name: known for name, known in self._known.items()
                if name not in self._seen and _stat_of(self._inbox / name) == known[0]}  # fmt: skip
        remembered = {**kept, **self._seen}
        if remembered == self._known:
            return
        files = {name: {"stat": list(stat), "file_id": file_id, "utf8": utf8}
                 for name, (stat, (file_id, utf8)) in sorted(remembered.items())}  # fmt: skip
        io.write_text_atomic(self._path, json.dumps({"version": VERSION, "files": files}))


def _stat_of(path: Path) -> Stat | None:
    try:
        return file_stat(path)
    except OSError:
        return None


def _read(path: Path) -> dict[str, tuple[Stat, Fingerprint]]:
    """What the file remembers; nothing when it is missing or not what save() writes."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["version"] != VERSION:
            return {}
        return {name: _entry(entry) for name, entry in data["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _entry(entry: dict) -> tuple[Stat, Fingerprint]:
    size, mtime, ctime, inode = (int(value) for value in entry["stat"])
    file_id, utf8 = entry["file_id"], entry["utf8"]
    if not isinstance(file_id, str) or not (utf8 is None or isinstance(utf8, str)):
        raise TypeError("not a fingerprint")
    return (size, mtime, ctime, inode), (file_id, utf8)
