"""The demo switched to amoCRM + Asterisk by config alone (examples/voronka.amocrm.yaml).

The same simulated world as the generic demo, its CRM side written as a weekly amoCRM
export of all deals (every Monday 06:00 and the final export at 2026-11-01 06:00, no
history file): the stage history is inferred from consecutive snapshots. The pipeline runs
on it once (demo files → ingest → build → one PDF) and is checked three ways.

1. Exactly, against an independent model of what weekly exports can show
   (`snapshot_entries` below), by the rules of "Every deal counts" (docs/contracts.md):
   every deal is an entity and its creation an exact entry into the funnel's first
   stage; a stage an export shows is entered at some time between the deal's previous
   sighting (its creation, for the first) and that export, and counts at that lower
   bound for the cohort and the window; a won deal at its exact «Дата закрытия»; calls at
   their exact times; reach implied, window from the anchor. Every mature cohort cell
   (funnel × month × stage) of marts.funnel_stage_monthly must equal the model's count.

2. Entities per funnel over all mature months against the generator's prospects: every
   prospect is an entity in its own cohort month (anchored at its first answered call or
   its deal's creation, both exact), so the counts are equal, exactly.

3. Pooled cohort conversions against the generator's true rates r (expected_cohorts.csv).
   observed − r = (observed − exact) + (exact − r), where `exact` is the same prospects'
   rate with exact stage times. The second term is sampling noise: the binomial bound of
   test_demo_pipeline (z for a two-sided 99.9 % family level, Bonferroni over the
   comparisons, continuity correction), on the exact counts. The first is the snapshot
   bias β, measured on this world by the model of (1) and split in two:
   - bounds: an entry counts at its lower bound, up to 7 days before it happened, which
     matters only where it pulls an entry from just past the window end inside it;
     bounded by BOUND_CAP = 1 pp;
   - unseen losses: a deal that enters a stage and is lost before the next export is
     never seen in that stage; its count goes to the previous stage. This lowers the
     conversion into such a stage and raises the conversion out of it, by up to about
     (share lost within a week of entering) × rate (doors call → measurer invited: 22 %
     of new deals are lost, half of them within a week); bounded by UNSEEN_CAP = 8 pp.
   The check is |observed − r| ≤ |β| + binomial bound, with β within its caps. It is what
   weekly amoCRM exports can tell, not a pipeline error: (1) shows the pipeline draws
   every bit the exports hold.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import duckdb
import polars as pl
import pytest

from pipeline.config import Config, load_config
from pipeline.demo.amocrm import snapshot_times
from pipeline.demo.expected import is_mature
from pipeline.demo.scenario import FUNNEL_BY_ID, local_to_utc
from pipeline.demo.simulate import Prospect, World, build_world
from pipeline.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "voronka.amocrm.yaml"
FAMILY_LEVEL = 0.999
BOUND_CAP = 0.01
UNSEEN_CAP = 0.08
Entries = list[tuple[int, dt.datetime]]  # (stage order, entered at), local time


@dataclass
class AmoRun:
    config: Config
    world: World
    expected_dir: Path
    pdfs: list[Path]

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.config.warehouse_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def amo_run(tmp_path_factory: pytest.TempPathFactory) -> AmoRun:
    from pipeline.cli import demo_crm_format
    from pipeline.demo import DEFAULT_SEED, write_demo_exports
    from pipeline.ingest import ingest_inbox
    from pipeline.reporting import default_report_month, render_reports
    from pipeline.warehouse import build_warehouse

    folder = tmp_path_factory.mktemp("amocrm") / "examples"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    config = load_config(folder / EXAMPLE.name)
    assert demo_crm_format(config) == "amocrm"
    expected_dir = config.inbox_dir.parent / "demo_expected"
    write_demo_exports(config.inbox_dir, expected_dir, crm_format="amocrm")
    ingest_inbox(config)
    build_warehouse(config)
    month = default_report_month(config)
    pdfs = render_reports(config, month, funnels=["doors"], locales=["ru"])
    return AmoRun(config, build_world(DEFAULT_SEED), expected_dir, pdfs)


# --- the model of what weekly exports show --------------------------------------------


def call_entries(prospect: Prospect) -> Entries:
    if prospect.entry != "call":
        return []
    return [(1, min(call.started_at for call in prospect.calls if call.answered))]


def snapshot_entries(prospect: Prospect, snapshots: list[dt.datetime]) -> Entries:
    """Calls, the deal's creation (first stage), each stage an export shows at its lower
    bound (the previous sighting, or the creation), a won deal at its close."""
    entries = call_entries(prospect)
    deal = prospect.deal
    if deal is None:
        return entries
    funnel = FUNNEL_BY_ID[prospect.funnel_id]
    entries.append((1, deal.created_at))
    timeline = sorted((when, order) for order, when in deal.entries)
    previous_stage, previous_sighting = None, deal.created_at
    for at in snapshots[bisect.bisect_left(snapshots, deal.created_at) :]:
        if deal.closed_at <= at:
            if deal.status == "won":
                entries.append((len(funnel.stages), deal.closed_at))
            break
        current = timeline[bisect.bisect_right(timeline, (at, math.inf)) - 1][1]
        if current != previous_stage:
            entries.append((current, previous_sighting))
            previous_stage = current
        previous_sighting = at
    return entries


def exact_entries(prospect: Prospect) -> Entries:
    moments = prospect.path.reached_minutes
    return [
        (order, prospect.t0 + dt.timedelta(minutes=minutes))
        for order, minutes in enumerate(moments, 1)
        if minutes is not None
    ]


def visible_exact_entries(prospect: Prospect, snapshots: list[dt.datetime]) -> Entries:
    """The stages the exports show, at their exact times: the unseen-loss effect alone."""
    seen = {order for order, _ in snapshot_entries(prospect, snapshots)}
    return [(order, at) for order, at in exact_entries(prospect) if order in seen]


def anchor_month(entries: Entries) -> dt.date | None:
    return min(at for _, at in entries).date().replace(day=1) if entries else None


def mature_cohort_counts(
    world: World, entries_of: Callable[[Prospect], Entries]
) -> Counter[tuple[str, dt.date, int]]:
    """(funnel, cohort month, stage) → entities reaching the stage within the window
    (reach implied: at the earliest entry of this or a later stage), mature months only."""
    counts: Counter[tuple[str, dt.date, int]] = Counter()
    for prospect in world.prospects:
        funnel = FUNNEL_BY_ID[prospect.funnel_id]
        entries = entries_of(prospect)
        month = anchor_month(entries)
        if month is None or not is_mature(funnel, month):
            continue
        limit = min(at for _, at in entries) + dt.timedelta(days=funnel.window_days)
        for order in range(1, len(funnel.stages) + 1):
            later = [at for stage, at in entries if stage >= order]
            if later and min(later) <= limit:
                counts[(prospect.funnel_id, month, order)] += 1
    return counts


def pooled(counts: Counter) -> Counter[tuple[str, int]]:
    totals: Counter[tuple[str, int]] = Counter()
    for (funnel_id, _, order), entities in counts.items():
        totals[(funnel_id, order)] += entities
    return totals


def mart_cohort_counts(amo_run: AmoRun) -> Counter[tuple[str, dt.date, int]]:
    rows = amo_run.query(
        """
        select funnel_id, month, stage_order, entities from marts.funnel_stage_monthly
        where view = 'cohort' and is_mature and segment_type = 'total' and entities > 0
        """
    )
    return Counter({(funnel_id, month, order): n for funnel_id, month, order, n in rows})


# --- tests ----------------------------------------------------------------------------


def test_every_file_reconciles_and_every_snapshot_is_dated(amo_run):
    from pipeline.io import read_ledger, read_part

    ledger = read_ledger(amo_run.config.landing_dir)
    loaded = ledger.filter(pl.col("status") == "loaded")
    assert set(ledger["status"]) <= {"loaded", "duplicate"}
    assert (loaded["rows_total"] == loaded["rows_accepted"] + loaded["rows_rejected"]).all()
    exports = loaded.filter(pl.col("source") == "crm")
    assert exports.height == len(snapshot_times())
    assert exports["preset"].unique().to_list() == ["amocrm"]
    assert exports["encoding"].unique().to_list() == ["utf-8-sig"]
    assert exports["rows_rejected"].sum() == 6, "the final export plants six bad dates"
    deals = pl.concat(
        read_part(amo_run.config.landing_dir, "crm_deals", file_id)
        for file_id in exports["file_id"]
    )
    taken = sorted(deals["snapshot_at"].unique().to_list())
    assert taken == [local_to_utc(at) for at in snapshot_times()], "snapshot_at from the names"


def test_no_unmapped_stages(amo_run):
    assert amo_run.query("select * from marts.unmapped_stages") == []


def test_cohorts_equal_what_weekly_exports_can_show(amo_run):
    model = mature_cohort_counts(amo_run.world, lambda p: snapshot_entries(p, snapshot_times()))
    marts = mart_cohort_counts(amo_run)
    assert len(marts) > 300
    differ = {k: (marts.get(k), model.get(k)) for k in marts.keys() | model.keys()}
    differ = {k: v for k, v in differ.items() if v[0] != v[1]}
    assert not differ, sorted(differ.items())[:10]


def test_entities_per_funnel_equal_the_generators_prospects(amo_run):
    marts = pooled(mart_cohort_counts(amo_run))
    prospects: Counter[str] = Counter()
    for prospect in amo_run.world.prospects:
        funnel = FUNNEL_BY_ID[prospect.funnel_id]
        prospects[funnel.funnel_id] += is_mature(funnel, prospect.t0.date().replace(day=1))
    for funnel_id in ("b2b", "doors", "key_accounts"):
        assert marts[(funnel_id, 1)] == prospects[funnel_id], funnel_id


def test_pooled_conversions_match_the_true_rates_within_the_snapshot_bias(amo_run):
    snapshots = snapshot_times()
    world = amo_run.world
    observed = pooled(mart_cohort_counts(amo_run))
    exact = pooled(mature_cohort_counts(world, exact_entries))
    visible = pooled(mature_cohort_counts(world, lambda p: visible_exact_entries(p, snapshots)))
    expected = pl.read_csv(amo_run.expected_dir / "expected_cohorts.csv", try_parse_dates=True)
    truth = (
        expected.filter(pl.col("segment_type") == "total")
        .filter(
            pl.struct("funnel_id", "cohort_month").map_elements(
                lambda r: is_mature(FUNNEL_BY_ID[r["funnel_id"]], r["cohort_month"]),
                return_dtype=pl.Boolean,
            )
        )
        .group_by("funnel_id", "stage_order")
        .agg(pl.col("expected_entities").sum())
    )
    true_entities = {(f, s): e for f, s, e in truth.iter_rows()}
    steps = [key for key in observed if (key[0], key[1] + 1) in observed]
    assert len(steps) == 4 + 5 + 6
    alpha = (1 - FAMILY_LEVEL) / len(steps)
    z = NormalDist().inv_cdf(1 - alpha / 2)
    failures = []
    for key in sorted(steps):
        following = (key[0], key[1] + 1)
        rate = true_entities[following] / true_entities[key]
        seen = observed[following] / observed[key]
        exact_rate = exact[following] / exact[key]
        unseen = visible[following] / visible[key] - exact_rate
        bound = seen - visible[following] / visible[key]
        assert abs(bound) <= BOUND_CAP, (key, bound)
        assert abs(unseen) <= UNSEEN_CAP, (key, unseen)
        n = exact[key]
        sampling = z * math.sqrt(rate * (1 - rate) / n) + 1 / (2 * n)
        if abs(seen - rate) > abs(seen - exact_rate) + sampling:
            failures.append((key, round(seen, 4), round(rate, 4), round(exact_rate, 4)))
    assert not failures, failures


def test_the_report_renders_from_amocrm_inputs(amo_run):
    from pypdf import PdfReader

    assert [path.name for path in amo_run.pdfs] == ["voronka_doors_2026-10_ru.pdf"]
    text = " ".join(page.extract_text() for page in PdfReader(amo_run.pdfs[0]).pages)
    assert "Двери: розница" in text


def test_demo_refuses_a_crm_preset_it_cannot_write(tmp_path, capsys):
    from pipeline.cli import main

    config = (REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8")
    (tmp_path / "voronka.yaml").write_text(
        config.replace(
            'preset: generic\n    files: "crm/deals_*.csv"',
            'preset: bitrix24\n    files: "crm/deals_*.csv"',
            1,
        ),
        encoding="utf-8",
    )
    assert main(["demo", "--config", str(tmp_path / "voronka.yaml")]) == 2
    error = capsys.readouterr().err
    assert "'bitrix24'" in error and "'generic' or 'amocrm'" in error
    assert not (tmp_path / "data").exists(), "nothing written before the check"
