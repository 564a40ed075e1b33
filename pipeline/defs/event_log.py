"""Dagster's default SQLite storage, with an event log that keeps its database engines.

Dagster's SqliteEventLogStorage makes a new SQLAlchemy engine, and with it a new SQLite
connection, for every write: several per event (the run's file, the cross-run index),
~600 events a monthly run, each statement compiled afresh by the new engine. This one
keeps one engine and one open connection per database file (a few, least recently used
first out), so a statement is compiled once and a write is a transaction on an open
connection. The files, their tables and where they live are Dagster's default
(`$DAGSTER_HOME/history/…`, `$DAGSTER_HOME/schedules`): the UI, the daemon and the run
history read them as before, and switching back to Dagster's storage keeps the history.

`pipeline/defs/instance.py` writes `storage: custom:` with this class into
$DAGSTER_HOME/dagster.yaml.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy.event
from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool
from watchdog.events import FileSystemEvent
from watchdog.observers import Observer

# Open database files per process: the index, the running run's file, and a few the UI
# reads (one file per run).
OPEN_FILES = 8


def _wal_synced_at_checkpoints(dbapi_connection, _record) -> None:
    """synchronous=NORMAL, SQLite's advice for WAL databases: a commit is not flushed to
    disk on its own (~1,600 commits a monthly run, each an fsync under Dagster's default
    FULL), the WAL is at each checkpoint. A crash of the process loses nothing; a power
    cut or OS crash may lose the last events written, never the database's consistency."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class KeptEnginesSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with one engine and one open connection per database file.
    Every use of them is under Dagster's own lock (`_db_lock`): one caller at a time."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():  # a forked child: never use the parent's
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            sqlalchemy.event.listen(engine, "connect", _wal_synced_at_checkpoints)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_FILES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def _dispose_engines(self) -> None:
        with self._db_lock:
            engines, self._engines = self._engines, OrderedDict()
            for engine in engines.values():
                engine.dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            if shard not in self._initialized_dbs:
                # Dagster's first-use set-up of a file, on a throwaway engine as Dagster
                # does it (it opens a second connection while the first is out).
                fresh = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._initdb(fresh)
                fresh.dispose()
                self._initialized_dbs.add(shard)
            with self._engine(shard).connect() as conn, conn.begin():
                yield conn

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        """Dagster's watch (the UI's live log of a run), told of writes to the run file's
        write-ahead log too: the run's process keeps its connection open, so its commits
        reach the file itself only at checkpoints."""
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = WalWatchdog(self, run_id, callback, cursor)
        watch = self._obs.schedule(watchdog, self._base_dir, recursive=True)
        self._watchers[run_id][callback] = (watchdog, watch)

    def wipe(self) -> None:
        self._dispose_engines()  # the run files are deleted: no connection outlives them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()


class WalWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watchdog of one run's file, woken by its write-ahead log as well."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._paths = [self._log_path, f"{self._log_path}-wal"]
        self._patterns = self._paths

    def on_modified(self, event: FileSystemEvent) -> None:
        if event.src_path in self._paths:
            self._process_log()


class VoronkaSqliteStorage(DagsterSqliteStorage):
    """DagsterSqliteStorage (Dagster's default: runs, event logs and schedules in SQLite
    files under base_dir) with KeptEnginesSqliteEventLogStorage as its event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = KeptEnginesSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": StringSource}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: dict[str, Any]
    ) -> VoronkaSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
