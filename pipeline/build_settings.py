"""A build's DuckDB and dbt settings, chosen from the machine it runs on: memory_limit,
threads, the spill folder and the freed memory DuckDB keeps, and how many models dbt
builds side by side. They reach dbt as environment variables dbt_project/profiles.yml
reads (docs/performance.md "Memory, threads and the spill folder"); a value already set
in the environment wins.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

MEMORY_LIMIT_ENV = "VORONKA_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "VORONKA_DUCKDB_THREADS"
# dbt's own threads: how many models build side by side (one DuckDB, one memory_limit).
# Two on a machine of two CPUs or more: while one model commits or waits on dbt's Python,
# the other queries (docs/performance.md "Memory, threads and the spill folder").
DBT_THREADS_ENV = "VORONKA_DBT_THREADS"
TEMP_DIR_ENV = "VORONKA_DUCKDB_TEMP_DIR"
# DuckDB keeps up to this much of its freed buffer memory (the memory_limit) instead of
# handing it back to the system: without it, a full-scale build spent a quarter of its CPU
# in the kernel zeroing pages it had just freed (docs/performance.md "Memory, threads and
# the spill folder").
BLOCK_ALLOCATOR_ENV = "VORONKA_DUCKDB_BLOCK_ALLOCATOR_MEMORY"
MEMORY_SHARE = 0.25  # of the memory the build may use
# At most 3 GB: a build's peak RSS (DuckDB's buffers, what it allocates outside them, dbt)
# stays under 4 GB (docs/performance.md).
MEMORY_FLOOR_MB, MEMORY_CEILING_MB = 1024, 3072


def duckdb_resources(warehouse: Path) -> dict[str, str]:
    """DuckDB's settings for a build of the file `warehouse`, as the profile's environment:
    memory_limit a quarter of the memory this process may use (the cgroup's limit, else the
    machine's), within 1–3 GB; threads the CPUs it may run on (affinity, the cgroup's
    quota), and dbt's threads two where there are two CPUs or more; the folder it spills to
    beside the file (spill_dir; relative to the file's folder, as a relative value set in
    the environment is); the freed memory it keeps, as much as its memory_limit.
    A variable already set in the environment wins."""
    chosen = duckdb_settings(available_memory_mb(), available_cpus(), warehouse)
    resources = {name: os.environ.get(name, value) for name, value in chosen.items()}
    resources[BLOCK_ALLOCATOR_ENV] = os.environ.get(
        BLOCK_ALLOCATOR_ENV, resources[MEMORY_LIMIT_ENV]
    )
    return resources


def plan_settings(warehouse: Path) -> dict[str, str]:
    """The rebuild plan's DuckDB settings: the build's memory_limit, threads and spill
    folder (duckdb_resources), so planning never takes more memory than the build."""
    chosen = duckdb_resources(warehouse)
    return {
        "memory_limit": chosen[MEMORY_LIMIT_ENV],
        "threads": chosen[THREADS_ENV],
        "temp_directory": str(warehouse.parent / chosen[TEMP_DIR_ENV]),
        "block_allocator_memory": chosen[BLOCK_ALLOCATOR_ENV],
    }


def duckdb_settings(memory_mb: int, cpus: int, warehouse: Path) -> dict[str, str]:
    limit = min(max(int(memory_mb * MEMORY_SHARE), MEMORY_FLOOR_MB), MEMORY_CEILING_MB)
    return {
        MEMORY_LIMIT_ENV: f"{limit}MB",
        THREADS_ENV: str(max(cpus, 1)),
        DBT_THREADS_ENV: "2" if cpus >= 2 else "1",
        # Relative to the warehouse's folder (pipeline/build_file_plugin.py): the profile
        # then holds no site's path, and every site's builds share dbt's parse state.
        TEMP_DIR_ENV: spill_dir(warehouse).name,
    }


def spill_dir(warehouse: Path) -> Path:
    """Where DuckDB spills what exceeds its memory_limit during a build (emptied by DuckDB
    when the build's connection closes)."""
    return warehouse.with_name("duckdb-spill")


def available_memory_mb() -> int:
    """The memory this process may use, in MB: the machine's, or its cgroup's limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        text = _read_text(limit_file)
        if text and text.isdigit():
            total = min(total, int(text))
    return total // 2**20


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity, or its cgroup's CPU quota if lower."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota, _, period = (_read_text("/sys/fs/cgroup/cpu.max") or "max").partition(" ")
    if quota.isdigit() and period.isdigit() and int(period) > 0:
        cpus = min(cpus or 1, math.ceil(int(quota) / int(period)))
    return cpus or 1


def _read_text(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None
