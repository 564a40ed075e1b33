"""`python -m bench.markdown RESULTS.json`: a bench run as Markdown tables (docs/performance.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def stage_table(result: dict) -> str:
    lines = [
        "| stage | rows | seconds | rows/s | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["stages"]:
        rows = f"{row['rows']:,}" if row["rows"] is not None else "–"
        rate = f"{row['rows_per_s']:,}" if row["rows_per_s"] else "–"
        note = (
            ""
            if row["ok"]
            else (" (killed at 11 GB)" if row["killed_at_memory_limit"] else " (failed)")
        )
        lines.append(
            f"| {row['stage']}{note} | {rows} | {row['seconds']:,.1f} | {rate} | "
            f"{row['peak_rss_mb']:,} |"
        )
    lines.append(f"| **ingest → marts** | | **{result['ingest_to_marts_seconds']:,.1f}** | | |")
    end_to_end = result["end_to_end_seconds"]
    lines.append(f"| **end to end (ingest → marts → PDFs)** | | **{end_to_end:,.1f}** | | |")
    extra = []
    if result.get("floor_seconds"):
        ingest = next(r for r in result["stages"] if r["stage"] == "voronka: ingest")
        extra.append(f"normalize / floor = {ingest['seconds'] / result['floor_seconds']:.2f}×")
    pandas = next((r for r in result["stages"] if r["stage"] == "pandas baseline"), None)
    if pandas and pandas["ok"]:
        speedup = pandas["seconds"] / result["ingest_to_marts_seconds"]
        extra.append(f"pandas / (ingest + dbt) = {speedup:.2f}×")
    report = result.get("report") or {}
    if report:
        extra.append(f"PDF median {report['pdf_median_s']} s, max {report['pdf_max_s']} s")
    check = result.get("pandas_check")
    if check:
        verdict = "equal" if check["equal"] else f"DIFFERENT in {check['rows_differing']} rows"
        extra.append(
            f"cohort table Voronka vs pandas: {verdict} ({check['rows_voronka']} rows, "
            f"{check['entities_voronka']:,} entities)"
        )
    return "\n".join(lines) + "\n\n" + "; ".join(extra) + "."


def targets_table(result: dict) -> str:
    lines = ["| target | result | met |", "|---|---|---|"]
    for check in result["targets"]:
        value = "–" if check["value"] is None else f"{check['value']} {check['unit']}".strip()
        met = "yes" if check["met"] else f"no — {check['missed_by']}"
        lines.append(f"| {check['target']} | {value} | {met} |")
    return "\n".join(lines)


def main() -> None:
    result = json.loads(Path(sys.argv[1]).read_text())
    print(f"Run {result['when']}, scale {result['scale']}.\n")
    print(stage_table(result))
    print()
    print(targets_table(result))


if __name__ == "__main__":
    main()
