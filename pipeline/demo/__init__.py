"""The seeded demo: export files in real formats plus the true numbers behind them.

`write_demo_exports` simulates 24 months of three funnels (scenario.py holds every
parameter), writes the PBX and CRM exports into the inbox and the expected cohort
table and parameters into `expected_dir`. Same seed → byte-identical files.

`crm_format` picks how the CRM side is written: "generic" (default: deals + history
files at two snapshots, read by the generic preset, see writers.py) or "amocrm" (a
weekly amoCRM export of all deals, no history file, see amocrm.py). The Asterisk files
and the expected truth are the same either way.

`timezone` is the zone the exports' local times are written in (default Europe/Moscow,
the scenario's own): the same instants on another wall clock, and the expected cohorts
cut by month in that zone. Read them with `timezone:` set to the same zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipeline.demo.amocrm import render_amocrm
from pipeline.demo.expected import cohorts_csv, expected_rows, parameters_json
from pipeline.demo.scenario import SNAPSHOT_LOCAL, TIMEZONE, local_to_utc
from pipeline.demo.simulate import build_world
from pipeline.demo.writers import render_exports, render_pbx, write_atomically, write_files

DEFAULT_SEED = 20261101
CRM_FORMATS = ("generic", "amocrm")
EXPECTED_COHORTS = "expected_cohorts.csv"
PARAMETERS = "parameters.json"


@dataclass(frozen=True)
class DemoSummary:
    """What was written: paths relative to their folder, record counts per file."""

    files: tuple[str, ...]  # exports, relative to inbox_dir
    expected_files: tuple[str, ...]  # relative to expected_dir
    rows: dict[str, int]  # records per file (headers excluded, deliberate bad rows included)
    bad_rows: dict[str, int]  # deliberately broken records per export
    prospects: dict[str, int]  # per funnel
    snapshot_at: dt.datetime  # the final export's time, UTC


def write_demo_exports(
    inbox_dir: Path,
    expected_dir: Path,
    seed: int = DEFAULT_SEED,
    crm_format: str = "generic",
    timezone: str = TIMEZONE,
) -> DemoSummary:
    if crm_format not in CRM_FORMATS:
        raise ValueError(f"crm_format must be one of {CRM_FORMATS}, got {crm_format!r}")
    world = build_world(seed, timezone)
    if crm_format == "amocrm":
        exports = [*render_pbx(world), *render_amocrm(world)]
    else:
        exports = render_exports(world)
    write_files(Path(inbox_dir), exports)
    rows = expected_rows(world)
    write_atomically(Path(expected_dir) / EXPECTED_COHORTS, cohorts_csv(rows))
    write_atomically(Path(expected_dir) / PARAMETERS, parameters_json(seed, rows, timezone))
    prospects: dict[str, int] = {}
    for prospect in world.prospects:
        prospects[prospect.funnel_id] = prospects.get(prospect.funnel_id, 0) + 1
    counts = {rendered.path: rendered.rows for rendered in exports}
    counts[EXPECTED_COHORTS] = len(rows)
    return DemoSummary(
        files=tuple(rendered.path for rendered in exports),
        expected_files=(EXPECTED_COHORTS, PARAMETERS),
        rows=counts,
        bad_rows={rendered.path: rendered.bad_rows for rendered in exports},
        prospects=prospects,
        snapshot_at=local_to_utc(SNAPSHOT_LOCAL),
    )


__all__ = ["CRM_FORMATS", "DEFAULT_SEED", "DemoSummary", "write_demo_exports"]
