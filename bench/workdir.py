"""The bench's workdir: the exports at a scale, the bench's voronka.yaml, and the two
deliveries into Voronka's inbox (bench.run).

    <workdir>/inbox       the exports (bench.generate), reused while the scale and seed match
    <workdir>/delivery    Voronka's inbox: hard links to the exports, delivered in two steps
    <workdir>/voronka.yaml, landing/, warehouse.duckdb, reports/, dbt-target/ …
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import yaml

from bench.generate import MANIFEST, generate
from bench.scales import SCALES
from pipeline.paths import REPO_ROOT

DELIVERY = "delivery"  # Voronka's inbox: the exports arrive there in two deliveries
INCREMENTAL_WAREHOUSE = "warehouse-incremental.duckdb"  # the incremental build, kept aside
CALLS_ALONE_WAREHOUSE = "warehouse-calls-alone.duckdb"  # the calls-alone build, kept aside


def bench_config(workdir: Path, manifest: dict) -> Path:
    """The demo's voronka.yaml with paths in the workdir and the scale's managers."""
    config = yaml.safe_load((REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8"))
    config["paths"] = {
        "inbox": DELIVERY,
        "landing": "landing",
        "warehouse": "warehouse.duckdb",
        "reports": "reports",
    }
    if "delivery" in config:
        config["delivery"]["failures_dir"] = "failures"
    if manifest["spec"].get("managers"):
        config["managers"] = [
            {"name": m["name"], "aliases": [*m["aliases"], f"ext:{m['extension']}"]}
            for m in manifest["managers"]
        ]
    path = workdir / "voronka.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def prepare(scale: str, workdir: Path, regenerate: bool, say) -> dict:
    inbox = workdir / "inbox"
    manifest_path = inbox / MANIFEST
    spec = asdict(SCALES[scale])
    if not regenerate and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["spec"] == spec and manifest.get("new_month_files"):
            say(f"reusing the {scale} exports in {inbox} (written in {manifest['seconds']} s)")
            return manifest
    shutil.rmtree(inbox, ignore_errors=True)
    say(f"writing the {scale} exports to {inbox} …")
    return generate(scale, inbox)


def clean_outputs(workdir: Path) -> None:
    built = ("warehouse.duckdb", INCREMENTAL_WAREHOUSE, CALLS_ALONE_WAREHOUSE,
             f"full-{CALLS_ALONE_WAREHOUSE}")  # fmt: skip
    for name in ("landing", "reports", "failures", DELIVERY, "dbt-target",
                 "history-saved", *built,
                 *(f"{name}.wal" for name in built)):  # fmt: skip
        target = workdir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def deliveries(manifest: dict) -> tuple[list[str], list[str]]:
    """The history delivery (every file but the new month's) and the new month's files."""
    new = list(manifest["new_month_files"])
    return [name for name in manifest["files"] if name not in new], new


def deliver(exports: Path, inbox: Path, names: list[str]) -> None:
    """Put exports into Voronka's inbox (hard links: no copy of gigabytes)."""
    for name in names:
        target = inbox / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(exports / name, target)
        except OSError:
            shutil.copy2(exports / name, target)


def set_aside(warehouse: Path, to: Path) -> None:
    """Move a built warehouse (and its WAL) aside, so the next build starts fresh."""
    os.replace(warehouse, to)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        os.replace(wal, to.with_name(to.name + ".wal"))
