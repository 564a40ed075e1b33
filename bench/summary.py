"""What the bench prints (bench.run): the stage table, the ratios to the floor and to
pandas, the new month on top of the history, the checks, and the targets met or missed.
The stage labels and the spill column serve bench.markdown too.
"""

from __future__ import annotations

from bench.results import BUILD, BUILD_NEW, INGEST, PANDAS


def stage_label(row: dict) -> str:
    """The stage's name as printed: the summed ingest and the full rebuild say what they are
    (results of earlier runs had one ingest, not a sum)."""
    if row["stage"] == INGEST and row.get("sum_of"):
        return f"{INGEST} (history + new month)"
    if row["stage"] == BUILD:
        return f"{BUILD} (all months, fresh warehouse)"
    return row["stage"]


def render_table(rows: list[dict]) -> str:
    head = (
        f"{'stage':<58}{'rows':>13}{'seconds':>10}{'rows/s':>13}{'peak RSS MB':>13}{'spill MB':>10}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        rate = f"{row['rows_per_s']:,}" if row["rows_per_s"] else "-"
        count = f"{row['rows']:,}" if row["rows"] is not None else "-"
        flag = (
            ""
            if row["ok"]
            else ("  KILLED (memory)" if row["killed_at_memory_limit"] else "  FAILED")
        )
        lines.append(
            f"{stage_label(row):<58}{count:>13}{row['seconds']:>10.2f}{rate:>13}"
            f"{row['peak_rss_mb']:>13,}{spill_mb(row):>10}{flag}"
        )
    return "\n".join(lines)


def spill_mb(row: dict) -> str:
    """The peak size of DuckDB's spill folder during a build stage ("-" for other stages)."""
    spilled = row.get("peak_spill_mb")
    return f"{spilled:,}" if spilled is not None else "-"


def new_month_lines(new: dict, what: str) -> list[str]:
    """One kind of new month on top of the history: the plan, the share of the full build
    and of the full run, the check against the full rebuild."""
    equal = new["equal_to_full"]
    return [
        f"new month {new['new_month']} ({what}) on top of {new['history_months']}: {new['plan']}",
        f"  incremental dbt build {new['build_seconds']:.2f} s = {new['percent']} % of the full "
        f"build ({new['full_build_seconds']:.2f} s); with the new month's ingest "
        f"{new['with_ingest_percent']} % of ingest → marts",
        "  incremental marts vs full rebuild: "
        + (f"EQUAL ({equal['tables']} tables)" if equal["equal"]
           else f"DIFFER in {', '.join(equal['differing']) or 'no tables'}"),
    ]  # fmt: skip


def incremental_lines(result: dict, slowest: int = 8) -> list[str]:
    """Each kind of new month on top of the history (new_month_lines), and the incremental
    build's slowest models."""
    lines = new_month_lines(result["incremental"], "its call logs and CRM export")
    if result.get("calls_alone"):
        lines += new_month_lines(result["calls_alone"], "its call logs alone")
    builds = result.get("dbt_builds") or {}
    incremental, full = builds.get(BUILD_NEW, {}), builds.get(BUILD, {})
    if incremental.get("model_seconds"):
        lines.append(
            f"slowest models, incremental vs full build (s; tests {incremental['test_seconds']} "
            f"vs {full.get('test_seconds')}, dbt elapsed {incremental['dbt_elapsed_s']} vs "
            f"{full.get('dbt_elapsed_s')}):"
        )
        full_models = full.get("model_seconds", {})
        for model, seconds in list(incremental["model_seconds"].items())[:slowest]:
            lines.append(f"  {model:<40}{seconds:>8.2f}{full_models.get(model, 0):>8.2f}")
    return lines


def print_summary(result: dict, floors: dict, ingest_to_marts: float, say) -> None:
    """The table and the lines under it (`floors` and `ingest_to_marts` unrounded)."""
    rows = result["stages"]
    by_name = {row["stage"]: row for row in rows}
    ingest_seconds = by_name[INGEST]["seconds"]
    comparison = result["pandas_check"]
    say("")
    say(render_table(rows))
    say(f"{'end to end (ingest → marts → PDFs)':<71}{result['end_to_end_seconds']:>10.2f} s")
    if result["floor_seconds"]:
        say(f"normalize / floor: {ingest_seconds / result['floor_seconds']:.2f}×  "
            f"(floor = {min(floors, key=lambda k: floors[k] or 1e9)} "
            f"{result['floor_seconds']:.2f} s)")  # fmt: skip
    pandas_row = by_name.get(PANDAS)
    if pandas_row and pandas_row["ok"]:
        say(f"pandas / (ingest + dbt): {pandas_row['seconds'] / ingest_to_marts:.2f}×")
    if result["report"]:
        report = result["report"]
        say(f"PDF median {report['pdf_median_s']} s, max {report['pdf_max_s']} s")
    for line in incremental_lines(result):
        say(line)
    if comparison:
        verdict = (
            "EQUAL" if comparison["equal"] else f"DIFFER in {comparison['rows_differing']} rows"
        )
        say(
            f"cohort table (total) Voronka vs pandas: {verdict} "
            f"({comparison['rows_voronka']} rows, {comparison['entities_voronka']:,} entities)"
        )
    say("targets:")
    for check in result["targets"]:
        mark = "met " if check["met"] else "MISS"
        detail = f" — {check['missed_by']}" if check["missed_by"] else ""
        say(f"  [{mark}] {check['target']}: {check['value']} {check['unit']}{detail}")
