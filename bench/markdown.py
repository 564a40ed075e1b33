"""`python -m bench.markdown RESULTS.json`: a bench run as Markdown tables (docs/performance.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.results import BUILD, BUILD_NEW
from bench.summary import spill_mb, stage_label


def stage_table(result: dict) -> str:
    lines = [
        "| stage | rows | seconds | rows/s | peak RSS (MB) | spill folder peak (MB) |",
        "|---|---:|---:|---:|---:|---:|",
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
            f"| {stage_label(row)}{note} | {rows} | {row['seconds']:,.1f} | {rate} | "
            f"{row['peak_rss_mb']:,} | {spill_mb(row)} |"
        )
    lines.append(f"| **ingest → marts** | | **{result['ingest_to_marts_seconds']:,.1f}** | | | |")
    end_to_end = result["end_to_end_seconds"]
    lines.append(f"| **end to end (ingest → marts → PDFs)** | | **{end_to_end:,.1f}** | | | |")
    new, alone = result.get("incremental"), result.get("calls_alone")
    for month, what in ((new, ""), (alone, ", its call logs alone")):
        if month:
            seconds = month["ingest_seconds"] + month["build_seconds"]
            lines.append(
                f"| **new month {month['new_month']} on top of {month['history_months']}{what} "
                f"(ingest + incremental build)** | | **{seconds:,.1f}** | | | |"
            )
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
    for month, what in ((new, "new month"), (alone, "its call logs alone")):
        if month:
            extra.append(new_month_sentence(month, what))
    check = result.get("pandas_check")
    if check:
        verdict = "equal" if check["equal"] else f"DIFFERENT in {check['rows_differing']} rows"
        extra.append(
            f"cohort table Voronka vs pandas: {verdict} ({check['rows_voronka']} rows, "
            f"{check['entities_voronka']:,} entities)"
        )
    return "\n".join(lines) + "\n\n" + "; ".join(extra) + "."


def new_month_sentence(month: dict, what: str) -> str:
    """One kind of new month: its build's and its run's shares, its plan, its check."""
    equal = month["equal_to_full"]
    verdict = (
        f"equal ({equal['tables']} tables)"
        if equal["equal"]
        else f"DIFFERENT in {', '.join(equal['differing']) or 'no tables'}"
    )
    return (
        f"{what}: incremental dbt build {month['build_seconds']:,.1f} s = "
        f"{month['percent']} % of its full build, with its ingest "
        f"{month['with_ingest_percent']} % of its full run (plan: {month['plan']}); its "
        f"marts vs the full rebuild: {verdict}"
    )


def incremental_models_table(result: dict, slowest: int = 10) -> str:
    """The incremental build's slowest models beside the full build's times (run_results)."""
    builds = result.get("dbt_builds") or {}
    incremental, full = builds.get(BUILD_NEW, {}), builds.get(BUILD, {})
    if not incremental.get("model_seconds"):
        return ""
    full_models = full.get("model_seconds", {})
    lines = [
        "| model | incremental build (s) | full build (s) |",
        "|---|---:|---:|",
    ]
    for model, seconds in list(incremental["model_seconds"].items())[:slowest]:
        lines.append(f"| {model} | {seconds:,.2f} | {full_models.get(model, 0):,.2f} |")
    lines.append(
        f"| all models | {sum(incremental['model_seconds'].values()):,.2f} | "
        f"{sum(full_models.values()):,.2f} |"
    )
    lines.append(
        f"| all tests | {incremental['test_seconds']:,.2f} | {full.get('test_seconds', 0):,.2f} |"
    )
    elapsed = incremental["dbt_elapsed_s"], full.get("dbt_elapsed_s", 0)
    lines.append(f"| dbt elapsed | {elapsed[0]:,.2f} | {elapsed[1]:,.2f} |")
    return "\n".join(lines)


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
    models = incremental_models_table(result)
    if models:
        print(models)
        print()
    print(targets_table(result))


if __name__ == "__main__":
    main()
