"""Which months a build recomputes: the plan behind dbt's incremental months.

The heavy dbt models are incremental by month (dbt_project/macros/incremental.sql): a run
recomputes every month from a boundary on and keeps the older months of the previous
build. This module picks the boundaries so that every mart equals a full rebuild. It
compares the landing data with the previous build (the warehouse the build starts from):
the files and the fingerprint of models, tests and config it was built from
(`state.build_state`), its cutoff, its entities, stage entries and call-lead episodes.

A full rebuild when there is no previous build, the fingerprint differs (a model, a macro,
a data test or voronka.yaml changed), or a file it was built from is gone.

Otherwise "new" rows are rows of new files that no old file holds, and a deal "changed"
when its latest state (row, phones, attributes) differs from its latest among the old
files, a new file holds a row of it that is not its latest (a backdated export: it
changes the stage entries inferred from the deal's snapshots, and only that deal's), or
it has a new history entry (pipeline/incremental_changes.py). Three boundaries, per the
models' semantics (docs/contracts.md "Funnel semantics"):

- Per-call models (dedupe, rules, callbacks; UTC call months): from the month of the
  earliest call of a new file, or of the previous cutoff less the callback window if
  earlier (a missed call's callback may come in the new calls; its leak flag moves with
  the cutoff). A new file's call counts whether it is new or a copy of a built call (a
  rotated log that overlaps the last one): the dedupe ranks that month's copies again.
- Call → deal links and call-lead episodes (UTC call months), per funnel: from a day
  before the first new call of its calls source, the first new history entry of its CRM
  sources (it may close a deal) and every changed deal's creation less the link days (the
  calls it may take). A funnel's calls are its calls source's, its deals and their entries
  its CRM sources': new rows of other sources reach none of its rows. A link depends
  only on its call and the deals; an episode carries on from the phone's last call
  before the boundary (int_call_leads_sessionized), so older call months stay as built.
- Entities (local cohort months), per funnel: the earliest of
  - new entities: the local month (config.timezone, the cohort months' zone) of the
    first new call of its calls source and of the first new history entry of its CRM
    sources (a new call opens an episode, or anchors a deal created after it, in its own
    local month at the earliest: west of UTC that can be the month before its UTC
    month, east of it never), and every changed deal's creation less the link days;
  - reached entities' cohort months in the previous build: changed deals, deals sharing
    a phone with a changed deal, call-lead episodes of a changed deal's phone (their
    calls may now link to it); and the entities a new call can add a call entry to
    (deals of its phone open at or after the phone's first new call; episodes of its
    phone with a call at or after a window before it, which it may join or merge),
    unless the entity already has an exact entry, at or before that first new call,
    into every call stage of the funnel. A later entry into a stage already entered
    changes none of the entity's stage rows (first entries, anchor, window, period
    month): the stage entries of such an old cohort keep only the calls it was built
    with (int_stage_entries_unioned), and every mart row equals a full rebuild's.
  - the month after the previous cutoff's: the forecast's deal periods take a new
    `month_start` month from there when the cutoff moves (below), whatever changed.
- Monthly marts that read the cutoff (funnel_stage_monthly), per funnel: the entities'
  boundary, or the maturity boundary if earlier: the month of the previous cutoff less
  the window and a month (maturity and share-open flags of those cohorts move with the
  cutoff). No entity model reads the cutoff, so the maturity window alone recomputes the
  monthly mart's months from the entity tables, not the entities.

The forecast's deal periods (int_forecast_deal_periods): every run moves the cutoff and
rebuilds every `cutoff` row; the `month_start` rows are rebuilt from the month before the
entity boundary (a deal a run can change is known at its cohort's first instant at the
earliest, new in the window that ends there), and the months the forecast no longer
reads are dropped (dbt_project/macros/forecast_periods.sql). The deals' stage spans they
read (int_deal_stage_spans) follow the cohort boundary: they group each deal's rows of
int_stage_entries_unioned, which a run keeps as they were before it. Stage conversions
(int_stage_transitions_counted) follow the cohort boundary by the month a stage was
reached: an entity reaches every stage at or after its anchor, so a recomputed cohort's
reaches lie in recomputed months. Lost reasons (lost_reasons, by the local month a lost
deal was closed): with no new CRM file a lost deal's close time and reason are as built,
and its stages and segments change only if its cohort is recomputed, so the months in
which such a deal was closed are recomputed from every deal lost in them; a new CRM file
rebuilds the table (dbt_project/macros/lost_months.sql).

The CRM staging tables that keep one copy of what cumulative exports repeat, and the
entries inferred from snapshots, are incremental by file (macros/incremental_files.sql):
they read the new files' rows only (`new_files`), when every new file comes after every
built one in the arrival order their copies are ranked by; otherwise (a clock set back)
they read every file and are replaced whole. The models built from CRM data and config
alone (tag CRM_AND_CONFIG_TAG: the config and CRM staging models, the entries inferred
from snapshots, and the tables built whole from them, such as stg_landing__crm_deals and
int_deals_joined_to_funnels) hold what the previous build wrote when every new file is a
call log (`crm_unchanged`): such a run leaves them out of dbt's run, with the data tests
on them alone (RebuildPlan.left_out).

In a call centre where the same numbers call every month, their deals and episodes have
long entered the call stages: a new month recomputes the entities from its own month
(the monthly mart from the maturity window if earlier), and older cohorts only for deals
the CRM changed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline import io
from pipeline.built_state import build_fingerprint, built_state, ledger_digest, loaded_files
from pipeline.config import Config
from pipeline.incremental_changes import (
    Changes,
    quoted,
    reached_by_new_calls,
    reached_cohort,
    read_changes,
    register_landing,
)
from pipeline.months import add_months, month_start

NOTHING_TO_RECOMPUTE = dt.date(9999, 1, 1)
# The dbt tag of the models whose rows come from the CRM exports and voronka.yaml alone
# (their parents: such models, the CRM and config landing tables, and
# stg_landing__file_arrivals, whose CRM files alone they read): a new call log changes
# none of them, so a run with no new CRM file leaves them out (RebuildPlan.dbt_args).
CRM_AND_CONFIG_TAG = "crm_and_config"
# Each boundary's environment variable (macros/incremental.sql `boundaries`).
BOUNDARY_ENV = {
    name: f"VORONKA_{name.upper()}"
    for name in (
        "rebuild_from",
        "marts_rebuild_from",
        "links_rebuild_from",
        "calls_rebuild_from",
        "new_files",  # the CRM staging tables' (macros/incremental_files.sql)
        "crm_unchanged",  # no new CRM file (macros/incremental_files.sql, lost_months.sql)
        "build_fingerprint",  # what the build was made from (models/state/build_state.sql)
        "ledger_digest",  # the file ledger it read (models/state/build_state.sql)
    )
}


@dataclass(frozen=True)
class RebuildPlan:
    """A full rebuild, or per funnel the first cohort month and call month to recompute."""

    full: bool
    reason: str
    fingerprint: str
    rebuild_from: dict[str, dt.date] = field(default_factory=dict)  # entities
    # funnel_stage_monthly: rebuild_from, or the maturity window's first month if earlier
    marts_rebuild_from: dict[str, dt.date] = field(default_factory=dict)
    links_rebuild_from: dict[str, dt.date] = field(default_factory=dict)
    calls_rebuild_from: dt.date | None = None
    # The files new since the previous build, when every one of them arrived after every
    # built file; None: the CRM staging tables read every file.
    new_files: tuple[str, ...] | None = None
    # Every new file is a call log: the models of CRM data and config alone are left out.
    crm_unchanged: bool = False
    # The file ledger the build reads (ledger_digest): data_files and data_quality show
    # every row of it, the duplicate, empty and failed files' too.
    ledger_digest: str = ""

    def dbt_args(self) -> list[str]:
        """`--full-refresh` for a full rebuild. A run whose new files are all call logs
        leaves out the models tagged CRM_AND_CONFIG_TAG (left_out) and the data tests on them alone
        (with `--indirect-selection cautious`, a test with another parent still runs):
        their tables hold what the previous build wrote and checked."""
        if self.full:
            return ["--full-refresh"]
        return ["--exclude", f"tag:{self.left_out}"] if self.left_out else []

    @property
    def left_out(self) -> str | None:
        """The dbt tag of the models this run leaves out, if any: CRM_AND_CONFIG_TAG in an
        incremental run whose new files are all call logs."""
        return CRM_AND_CONFIG_TAG if self.crm_unchanged and not self.full else None

    def dbt_env(self) -> dict[str, str]:
        """The boundaries, the new files and the fingerprint, as the environment variables
        dbt_project/macros/incremental.sql and incremental_files.sql read (JSON; null: every
        month, every file). Not --vars: dbt re-parses the whole project when a
        var changes. The macros read these only while dbt executes, so new values make
        dbt parse no file again."""
        boundaries: dict = {name: None for name in BOUNDARY_ENV.values()}
        boundaries[BOUNDARY_ENV["build_fingerprint"]] = self.fingerprint
        boundaries[BOUNDARY_ENV["ledger_digest"]] = self.ledger_digest
        if not self.full:
            boundaries[BOUNDARY_ENV["rebuild_from"]] = _iso(self.rebuild_from)
            boundaries[BOUNDARY_ENV["marts_rebuild_from"]] = _iso(self.marts_rebuild_from)
            boundaries[BOUNDARY_ENV["links_rebuild_from"]] = _iso(self.links_rebuild_from)
            boundaries[BOUNDARY_ENV["calls_rebuild_from"]] = self.calls_rebuild_from.isoformat()
            new_files = None if self.new_files is None else list(self.new_files)
            boundaries[BOUNDARY_ENV["new_files"]] = new_files
            boundaries[BOUNDARY_ENV["crm_unchanged"]] = self.crm_unchanged
        return {name: json.dumps(value, sort_keys=True) for name, value in boundaries.items()}

    def describe(self) -> str:
        if self.full:
            return f"full rebuild: {self.reason}"
        months = _from_months(self.rebuild_from)
        marts = _from_months(self.marts_rebuild_from)
        marts = f"; monthly marts {marts}" if marts != months else ""
        links = _from_months(self.links_rebuild_from)
        calls = (
            f"; calls from {self.calls_rebuild_from:%Y-%m}"
            if self.calls_rebuild_from != NOTHING_TO_RECOMPUTE
            else ""
        )
        links = f"; links {links}" if links else ""
        crm = "; CRM staging from every file" if self.new_files is None else ""
        crm += "; CRM tables as built (no new CRM file)" if self.crm_unchanged else ""
        return (
            f"incremental: cohort months {months or 'none'}{marts}{links}{calls}{crm} "
            f"({self.reason})"
        )


def _from_months(months: dict[str, dt.date]) -> str:
    return ", ".join(
        f"{funnel_id} from {month:%Y-%m}"
        for funnel_id, month in sorted(months.items())
        if month != NOTHING_TO_RECOMPUTE
    )


def _iso(months: dict[str, dt.date]) -> dict[str, str]:
    return {funnel_id: month.isoformat() for funnel_id, month in sorted(months.items())}


def plan_rebuild(
    config: Config, previous: Path, duckdb_config: dict[str, str] | None = None
) -> RebuildPlan:
    """The plan for building on top of the warehouse file `previous` (may not exist).
    `duckdb_config`: the planning connection's settings (memory_limit, threads, kept memory,
    temp_directory: the build's, pipeline.build_settings.plan_settings); DuckDB's defaults
    (80 % of the machine's memory) without."""
    fingerprint = build_fingerprint(config)
    ledger = io.read_ledger(config.landing_dir)
    ledger_now = ledger_digest(ledger)

    def full(reason: str) -> RebuildPlan:
        return RebuildPlan(True, reason, fingerprint, ledger_digest=ledger_now)

    if not previous.exists():
        return full("no previous build")
    with duckdb.connect(config=duckdb_config or {}) as con:
        con.execute(f"attach '{quoted(previous)}' as previous (read_only)")
        state = built_state(con)
        if state is None:
            return full("the previous build has no incremental state")
        if state.fingerprints != {fingerprint}:
            return full("models, macros, tests, config or engine changed")
        loaded_rows = loaded_files(ledger)
        loaded = set(loaded_rows["file_id"].to_list())
        if state.files - loaded:
            return full(f"{len(state.files - loaded)} file(s) removed")
        if read_again := state.read_again(ledger):
            return full(f"{len(read_again)} file(s) read again with changed settings")
        new_files = loaded - state.files
        if not new_files:
            untouched = {funnel.id: NOTHING_TO_RECOMPUTE for funnel in config.funnels}
            return RebuildPlan(
                False,
                "no new files"
                if state.ledgers == {ledger_now}
                else "no new loaded file; the file ledger has new rows (duplicate, empty or "
                "failed files)",
                fingerprint,
                untouched,
                untouched,
                untouched,
                NOTHING_TO_RECOMPUTE,
                (),
                crm_unchanged=True,
                ledger_digest=ledger_now,
            )
        register_landing(con, config, new_files)
        changes = read_changes(con)
        arrived_after = _arrived_after_built(con, state.files)
        rebuild_from = {
            funnel.id: _first_cohort(con, funnel, changes, config.timezone)
            for funnel in config.funnels
        }
    marts_from = {
        funnel.id: min(rebuild_from[funnel.id], _first_maturing(funnel, changes))
        for funnel in config.funnels
    }
    links_from = {funnel.id: _first_link_month(funnel, changes) for funnel in config.funnels}
    calls_from = _first_call_month(config, changes)
    return RebuildPlan(
        False,
        f"{len(new_files)} new file(s)",
        fingerprint,
        rebuild_from,
        marts_from,
        links_from,
        calls_from,
        tuple(sorted(new_files)) if arrived_after else None,
        crm_unchanged=_only_call_logs(
            config, loaded_rows.filter(pl.col("file_id").is_in(list(new_files)))
        ),
        ledger_digest=ledger_now,
    )


def _first_call_month(config: Config, changes: Changes) -> dt.date:
    """The first UTC call month of the per-call models the changes reach: the month of the
    earliest call of a new file, new or a copy of a built call (its month's copies are
    ranked again: stg_landing__call_copies), less the callback window and a day (a new
    call may be the callback of a missed call before it, in the month before: its leak
    flag changes), or of the previous cutoff less the same if earlier (a missed call whose
    window the cutoff closes)."""
    window = dt.timedelta(hours=config.calls.callback_hours, days=1)
    first_call = changes.first_delivered_call
    moments = [first_call - window if first_call else None, changes.cutoff - window]
    return month_start(min(filter(None, moments)))


def _only_call_logs(config: Config, files: pl.DataFrame) -> bool:
    """Whether every one of `files` (ledger rows) is of a calls source."""
    calls_sources = {source.name for source in config.sources if source.kind == "calls"}
    return all(source in calls_sources for source in files["source"].to_list())


def _arrived_after_built(con: duckdb.DuckDBPyConnection, built_files: set[str]) -> bool:
    """Whether every new file comes after every built one in the arrival order the staging
    models rank copies by (received_at, then path, then file_id, NULLs first:
    stg_landing__file_arrivals): then a new file's copy of a row wins over a built one."""
    con.execute("create temp table built_files (file_id varchar)")
    con.executemany("insert into built_files values (?)", [[f] for f in sorted(built_files)])
    return con.execute(
        """
        with placed as (
            select file_id in (select file_id from new_files) as is_new,
                   row_number() over (
                       order by received_at asc nulls first, path asc nulls first, file_id asc
                   ) as place
            from arrivals
            where file_id in (select file_id from new_files)
               or file_id in (select file_id from built_files)
        )
        select coalesce(
            max(place) filter (where not is_new) < min(place) filter (where is_new), true
        )
        from placed
        """
    ).fetchone()[0]


def _first_maturing(funnel, changes: Changes) -> dt.date:
    """The first cohort month of `funnel` whose maturity the cutoff's move can change: the
    month of the previous cutoff less the window and a day, and a month before it."""
    return add_months(
        month_start(changes.cutoff - dt.timedelta(days=funnel.window_days, hours=24)), -1
    )


def _first_cohort(con: duckdb.DuckDBPyConnection, funnel, changes: Changes, zone: str) -> dt.date:
    """The first cohort month of `funnel` whose entities the changes can reach, or the
    month after the previous cutoff's if earlier (_after_cutoff_month). Cohort months
    are local months (`zone`, the config's timezone)."""
    candidates = [
        _after_cutoff_month(changes),
        *(local_month(con, t, zone) for t in _first_new_rows(funnel, changes)),
        *(
            month_start(at - dt.timedelta(days=funnel.link_days + 1))
            for at in _changed_deals_created(funnel, changes)
        ),
    ]
    reached = [
        reached_cohort(con, funnel.id),
        reached_by_new_calls(con, funnel),
    ]
    return min([*candidates, *filter(None, reached)])


def local_month(con: duckdb.DuckDBPyConnection, moment: dt.datetime, zone: str) -> dt.date:
    """The month in `zone` of `moment` (naive UTC, as the warehouse holds times), as the
    models cut it (macros/time.sql): by DuckDB's own zone conversion, so the plan and the
    models read the same time-zone rules (Python's tz data may be of another release)."""
    return con.execute(
        "select cast(date_trunc('month', timezone(?, timezone('UTC', ?::timestamp))) as date)",
        [zone, moment],
    ).fetchone()[0]


def _after_cutoff_month(changes: Changes) -> dt.date:
    """The month after the previous cutoff's (in any zone): the forecast's deal periods
    (int_forecast_deal_periods, from the month before the entity boundary) take a new
    `month_start` month from there when the cutoff moves into a later month, whatever
    changed. Cheap: the previous build's entities lie in earlier cohort months, but for
    those anchored in the hours a zone ahead of UTC puts in the next month."""
    return add_months(month_start(changes.cutoff - dt.timedelta(days=1)), 1)


def _first_link_month(funnel, changes: Changes) -> dt.date:
    """The first UTC call month of `funnel` whose links or episodes the changes can reach:
    a day before the first new call and history entry of its sources, and the changed
    deals' creation less the link days."""
    moments = [
        *_first_new_rows(funnel, changes),
        *(
            at - dt.timedelta(days=funnel.link_days)
            for at in _changed_deals_created(funnel, changes)
        ),
    ]
    if not moments:
        return NOTHING_TO_RECOMPUTE
    return month_start(min(moments) - dt.timedelta(days=1))


def _first_new_rows(funnel, changes: Changes) -> list[dt.datetime]:
    """The earliest new call of the funnel's calls source and the earliest new history
    entry of each of its CRM sources: new rows of other sources reach none of its
    entities, links or episodes (its calls are its calls source's, its deals and their
    entries its CRM sources')."""
    calls = [changes.first_call.get(funnel.calls.source)] if funnel.calls else []
    entries = [changes.first_entry.get(source) for source in {crm.source for crm in funnel.crm}]
    return [moment for moment in (*calls, *entries) if moment]


def _changed_deals_created(funnel, changes: Changes) -> list[dt.datetime]:
    """The earliest creation of a changed deal of each CRM pipeline in `funnel`."""
    return [
        at
        for (source, pipeline), at in changes.first_created.items()
        if at and any(crm.covers(source, pipeline) for crm in funnel.crm)
    ]
