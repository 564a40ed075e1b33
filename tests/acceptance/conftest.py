"""One Voronka project per business time zone, holding every acceptance shape as its own
sources and funnel; ingest and build run once per zone (dbt costs ~9 s a call), through
the command line in-process, as a user runs them.

VORONKA_ACCEPTANCE_SHAPES=amo_single,hubspot limits the projects (and the tests) to some
shapes — for working on one shape; the full corpus is the default.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from tests.acceptance import hand_count
from tests.acceptance.shapes import DATA, SHAPES, Shape, config_for

SHAPES_ENV = "VORONKA_ACCEPTANCE_SHAPES"


def selected_shapes() -> list[Shape]:
    wanted = [s.strip() for s in os.environ.get(SHAPES_ENV, "").split(",") if s.strip()]
    unknown = [name for name in wanted if name not in SHAPES]
    if unknown:
        raise pytest.UsageError(f"{SHAPES_ENV}: unknown shape(s) {unknown}; known: {list(SHAPES)}")
    return [SHAPES[name] for name in wanted] if wanted else list(SHAPES.values())


@dataclass
class Project:
    zone: str
    root: Path
    shapes: list[Shape]
    exit_codes: dict[str, int] = field(default_factory=dict)
    output: dict[str, str] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.root / "voronka.yaml"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def run(self, *argv: str) -> int:
        """`voronka <argv> --config …` in-process; exit code and output kept for messages."""
        from pipeline.cli import main

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code = main([argv[0], "--config", str(self.config_path), *argv[1:]])
        self.exit_codes[argv[0]] = code
        self.output[argv[0]] = buffer.getvalue()
        return code

    def log(self, command: str, lines: int = 40) -> str:
        text = self.output.get(command, "(not run)")
        return "\n".join(text.splitlines()[-lines:])

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        if not self.warehouse.exists():
            pytest.fail(f"no warehouse in {self.zone}; build said:\n{self.log('build')}")
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def ledger(self) -> pl.DataFrame:
        return pl.read_parquet(self.landing / "files" / "ledger.parquet")

    def rejected_rows(self) -> pl.DataFrame:
        parts = sorted((self.landing / "rejected_rows").rglob("part-*.parquet"))
        frames = [pl.read_parquet(p, hive_partitioning=False) for p in parts]
        return (
            pl.concat(frames, how="diagonal_relaxed")
            if frames
            else pl.DataFrame(schema={"file_id": pl.String, "row_number": pl.Int64})
        )


def mart_counts(
    project: Project, funnel_id: str, view: str = "cohort"
) -> dict[hand_count.Key, int]:
    rows = project.query(
        """
        select strftime(month, '%Y-%m'), segment_type, segment, stage_key, entities
        from marts.funnel_stage_monthly
        where funnel_id = ? and view = ? and segment_type in ('total', 'manager')
          and entities > 0
        """,
        [funnel_id, view],
    )
    return {(m, t, s, k): int(n) for m, t, s, k, n in rows}


def describe(shape_name: str, expected: dict, got: dict) -> str:
    keys = SHAPES[shape_name].stage_keys
    lines = []
    cells = sorted(set(expected) | set(got), key=lambda k: (k[0], k[1], k[2], keys.index(k[3])))
    for key in cells:
        if expected.get(key, 0) != got.get(key, 0):
            month, segment_type, segment, stage = key
            lines.append(
                f"  {month} {segment_type}={segment} {stage}: "
                f"hand count {expected.get(key, 0)}, pipeline {got.get(key, 0)}"
            )
    return "\n".join(lines)


def assert_same_counts(view: str, shape_name: str, zone: str, expected: dict, got: dict):
    assert got == expected, (
        f"{shape_name} in {zone}: {view} entities differ (month, segment, stage):\n"
        + describe(shape_name, expected, got)
    )


def assert_mature_cohorts_equal_the_hand_count(project: Project, shape_name: str, zone: str):
    """marts.funnel_stage_monthly, view cohort, total and per manager, every mature month
    and stage of the shape's funnel: entities equal the hand count exactly."""
    shape = SHAPES[shape_name]
    cutoff_at = hand_count.cutoff(zone)
    got = {
        key: n
        for key, n in mart_counts(project, shape.funnel["id"]).items()
        if hand_count.is_mature(key[0], shape.window_days, cutoff_at, zone)
    }
    assert_same_counts("cohort", shape_name, zone, hand_count.mature_counts(shape_name, zone), got)


def write_project(root: Path, zone: str, shapes: list[Shape]) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    config = config_for(zone, shapes)
    (root / "voronka.yaml").write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    for shape in shapes:
        shutil.copytree(DATA / shape.name, root / "inbox" / shape.name)
    return Project(zone, root, shapes)


class Projects:
    """Built on first use, once per zone for the whole session."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.built: dict[str, Project] = {}

    def get(self, zone: str) -> Project:
        if zone not in self.built:
            folder = self.factory.mktemp(zone.replace("/", "_"))
            project = write_project(folder, zone, selected_shapes())
            if project.run("ingest") != 2:  # 1 = a file failed or is too dirty: build anyway
                project.run("build")
            self.built[zone] = project
        return self.built[zone]


@pytest.fixture(scope="session")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Projects:
    return Projects(tmp_path_factory)
