"""What changed since the previous build, for the incremental plan (pipeline/incremental.py):
views over landing, the rows of new files no old file holds, the deals that changed, and
the earliest cohorts of the previous build's entities they reach.

Landing is append-only (stage entries inferred from snapshots are the dbt model
int_stage_entries_inferred, never landing rows), so new files are the only change. A deal
"changed" when its stage rows may differ from the previous build's:

- its latest state (row, phones, attributes: the staging model's ranking, the latest
  snapshot then the later arrival) differs from its latest among the old files, a new
  deal included; a new latest row with the same state adds no inferred entry (an
  unchanged stage enters nothing) and changes no other row;
- or a new file holds a row of it that is not its latest: a backdated export (older than
  an export already built) or a re-export of an older snapshot. It changes the deal's
  sightings and so the entries inferred from them (the next sighting's lower bound, a
  stage entered earlier), and only this deal's: inference is per deal. Its creation
  (the earlier of the row's and the latest's) bounds every entry it can add;
- or it has a new exact history entry.

A new file that repeats an older copy of a built exact entry (a history export sent
again) is no new row, yet its copy wins (the later arrival) and may change the entry's
manager or entered_after. That changes no deal: the models built by cohort month read an
exact entry's key alone; its manager and entered_after reach only the tables of CRM data
rebuilt whole when a CRM file is new (tests/e2e/test_incremental.py, "sent again").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline import io
from pipeline.config import Config


@dataclass(frozen=True)
class Changes:
    cutoff: dt.datetime  # the previous build's
    first_call: dict[str, dt.datetime]  # per calls source: the earliest new call
    # the earliest call of a new file, new or a copy of a built one (None: no call)
    first_delivered_call: dt.datetime | None
    first_entry: dict[str, dt.datetime]  # per CRM source: the earliest new history entry
    first_created: dict[tuple[str, str], dt.datetime]  # per (source, pipeline): changed deals


def register_landing(con: duckdb.DuckDBPyConnection, config: Config, new_files: set[str]) -> None:
    """Views over landing (times as naive UTC, like the warehouse's): every table, and for
    NEW_ROWS_READ `delivered_<table>` with the new files' rows and `new_<table>` with those
    of them that no old file holds."""
    con.execute("set TimeZone = 'UTC'")
    con.execute("create temp table new_files (file_id varchar)")
    con.executemany("insert into new_files values (?)", [[f] for f in sorted(new_files)])
    for table in LANDING_READ:
        # A table without parts (a CRM mapping no extra columns has no attributes, a
        # project without telephony no calls) reads its zero-row schema file instead:
        # DuckDB's read_parquet([]) fails. ensure_landing wrote it before any plan.
        parts = io.table_parts(config.landing_dir, table) or [
            io.schema_path(config.landing_dir, table)
        ]
        con.execute(f"create temp view raw_{table} as select * from {_read_parquet(parts)}")
        columns = [
            name for name, *_ in con.execute(f"select * from raw_{table} limit 0").description
        ]
        select = ", ".join(
            f"cast({name} as timestamp) as {name}" if name.endswith("_at") else name
            for name in columns
        )
        con.execute(f"create temp view {table} as select {select} from raw_{table}")
        if table in NEW_ROWS_READ:
            new_parts, old_parts = split_parts(config.landing_dir, table, parts, new_files)
            schema = [io.schema_path(config.landing_dir, table)]
            con.execute(
                f"create temp view delivered_{table} as "
                f"select {select} from {_read_parquet(new_parts or schema)}"
            )
            con.execute(_new_rows(table, select, columns, old_parts or schema))
    # When each loaded file arrived (the ledger): staging ranks same-time exports by it.
    ledger = io.ledger_path(config.landing_dir)
    loaded = (
        f"select * from read_parquet('{quoted(ledger)}') where status = 'loaded'"
        if ledger.exists()
        else "select null::varchar as file_id, null::timestamp as received_at, "
        "null::varchar as path where false"
    )
    con.execute(
        "create temp view arrivals as select file_id, max(received_at) as received_at, "
        f"max(path) as path from ({loaded}) group by file_id"
    )
    register_deal_states(con, config.landing_dir, deal_states_dir(config), new_files)


LANDING_READ = ("calls", "crm_stage_events", "crm_deals", "crm_deal_phones", "crm_deal_attributes")
# The tables whose new rows the plan reads (deals, their phones and attributes count
# through deal states).
NEW_ROWS_READ = ("calls", "crm_stage_events")

# The order of (snapshot_at, file_rank) pairs as one number, as DuckDB orders the pair (a
# NULL snapshot the latest): the snapshot's microseconds above the file's rank (below 2^32).
# arg_max over it costs half what it costs over the pair.
RANK_KEY = "coalesce(epoch_us({snapshot}), 9223372036854775807)::hugeint * 4294967296 + {file_rank}"

# Each deal's state in one export: the deal row and its phones and attributes, as a hash
# (DuckDB's 64-bit hash; the phones and attributes as the sum of their hashes, a set's
# hash that needs no ordering). A deal changed when its latest state differs from its
# latest state among the old files. An export's states depend on its landing parts alone:
# they are computed once, by the first plan that reads them, and kept (deal_states_dir),
# so a plan reads every export's states but hashes only the exports new to it.
_FILE_DEAL_STATES = """
with phones as (
    select source, deal_id, sum(hash(client_phone)) as phones
    from crm_deal_phones where file_id = '{file_id}' group by all
),
attributes as (
    select source, deal_id, sum(hash(name, value)) as attributes
    from crm_deal_attributes where file_id = '{file_id}' group by all
)
select
    d.source, d.deal_id, d.file_id, d.created_at, d.crm_pipeline, d.snapshot_at,
    hash(d.crm_pipeline, d.stage, d.status, d.created_at, d.closed_at, d.manager,
         d.lead_source, d.amount, d.currency, d.lost_reason, p.phones, a.attributes) as state
from crm_deals d
left join phones p using (source, deal_id)
left join attributes a using (source, deal_id)
where d.file_id = '{file_id}'
"""
# The tables an export's deal states are computed from.
DEAL_STATE_TABLES = ("crm_deals", "crm_deal_phones", "crm_deal_attributes")
# The kept states' folder is named by the DuckDB version and the formula: another hash()
# or another state starts afresh.
STATES_KEY = hashlib.sha256(f"{duckdb.__version__}|{_FILE_DEAL_STATES}".encode()).hexdigest()[:16]

_DEAL_STATES = """
create temp table deal_states as
with files as (
    -- the staging model's ranking of one snapshot time's exports: the later arrival
    select file_id, row_number() over (order by received_at, path, file_id) as file_rank
    from deal_files left join arrivals using (file_id)
)
select
    s.source, s.deal_id, s.created_at, s.crm_pipeline,
    s.file_id in (select file_id from new_files) as is_new,
    s.state,
    -- the staging model's ranking: the latest snapshot, then the later arrival (RANK_KEY)
    {rank_key} as rank_key
from {states} s
inner join files f using (file_id)
"""


# No export: the formula over no file, for its columns.
_NO_STATES = f"({_FILE_DEAL_STATES.format(file_id='')})"


def deal_states_dir(config: Config) -> Path:
    """Where the plans keep each CRM export's deal states (one parquet file per export)."""
    return config.state_dir / "plan" / "deal_states" / STATES_KEY


def register_deal_states(
    con: duckdb.DuckDBPyConnection, landing: Path, kept: Path, new_files: set[str]
) -> None:
    """Temp table deal_states: every export's deal states, read from `kept` (an export not
    yet there is hashed and kept first), ranked as the staging model ranks them. What
    `kept` holds besides this landing's exports (states of parts since replaced) and
    folders of another key beside it are removed.

    When no new file holds a deal row (call logs alone), no deal's state can have changed
    and no row is backdated: deal_states is empty, and nothing is read, hashed or removed
    (the first plan with a new export hashes the old ones)."""
    rank_key = RANK_KEY.format(snapshot="s.snapshot_at", file_rank="f.file_rank")
    con.execute("create temp table deal_files (file_id varchar)")
    if not any(io.file_parts(landing, t, f) for t in DEAL_STATE_TABLES for f in new_files):
        con.execute(_DEAL_STATES.format(rank_key=rank_key, states=_NO_STATES))
        return
    con.execute(
        "insert into deal_files select distinct file_id from crm_deals where file_id is not null"
    )
    file_ids = [file_id for (file_id,) in con.execute("select file_id from deal_files").fetchall()]
    paths = {file_id: _kept_path(kept, landing, file_id) for file_id in file_ids}
    for file_id, path in paths.items():
        if not path.exists():
            with io.replaced_whole(path) as temp:
                query = _FILE_DEAL_STATES.format(file_id=file_id.replace("'", "''"))
                con.execute(f"copy ({query}) to '{quoted(temp)}' (format parquet)")
    current = set(paths.values())
    for stale in sorted(kept.glob("*.parquet")) if kept.is_dir() else []:
        if stale not in current:
            stale.unlink(missing_ok=True)
    for other in sorted(kept.parent.iterdir()) if kept.parent.is_dir() else []:
        if other != kept:
            shutil.rmtree(other, ignore_errors=True)
    states = _read_parquet([paths[f] for f in file_ids]) if file_ids else _NO_STATES
    con.execute(_DEAL_STATES.format(rank_key=rank_key, states=states))


def _kept_path(kept: Path, landing: Path, file_id: str) -> Path:
    """One export's kept states, named by its file id and the parts they were computed
    from (path, size, modification time): parts written again (a file loaded again after
    its landing was cleared) are hashed again."""
    digest = hashlib.sha256(file_id.encode())
    for table in DEAL_STATE_TABLES:
        for part in io.file_parts(landing, table, file_id):
            stat = part.stat()
            name = part.relative_to(landing).as_posix()
            digest.update(f"|{name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return kept / f"{digest.hexdigest()}.parquet"


# Deals whose stage rows may differ from the previous build's: their latest state changed
# (a new deal, or its latest row differs from its latest among the old files), or a new
# row of theirs is not their latest (a backdated export), or they have a new exact entry.
# One pass over the deal rows: per deal its latest row now and among the old files, and
# whether a new row ranks below the latest (its creation counts with the latest's; the
# latest's own, when new, is no earlier than that).
_CHANGED_DEALS = """
with deals as (
    select source, deal_id,
           arg_max(state, rank_key) as state,
           arg_max(created_at, rank_key) as created_at,
           arg_max(crm_pipeline, rank_key) as crm_pipeline,
           arg_max(state, rank_key) filter (where not is_new) as state_before,
           arg_max(created_at, rank_key) filter (where not is_new) as created_before,
           arg_max(crm_pipeline, rank_key) filter (where not is_new) as pipeline_before,
           coalesce(min(rank_key) filter (where is_new) < max(rank_key), false) as backdated,
           min(created_at) filter (where is_new) as new_created
    from deal_states group by all
),
changed as (
    select * from deals where state_before is distinct from state
)
select source, deal_id, least(created_at, coalesce(created_before, created_at)) as created_at,
       crm_pipeline
from changed
union all
select source, deal_id, least(created_at, created_before), pipeline_before
from changed where pipeline_before is not null and pipeline_before != crm_pipeline
union all
-- a new row that is not the deal's latest (an older snapshot, or an older file of the
-- latest one's run): it changes the deal's sightings, so the entries inferred from them
select source, deal_id, least(new_created, created_at), crm_pipeline
from deals where backdated
union all
select distinct source, deal_id, null, null from new_crm_stage_events
"""


# Phones whose calls may link differently: a changed deal's; and phones of new calls, with
# the deals that carry them (read once for every funnel, pipeline/incremental.py).
_PHONES = """
create temp table changed_phones as
select distinct p.client_phone_hash
from crm_deal_phones p semi join changed_deals using (source, deal_id)
where p.client_phone_hash is not null;
create temp table new_call_phones as
select client_phone_hash, min(started_at) as first_call_at
from new_calls where client_phone_hash is not null group by all;
create temp table new_call_deal_phones as
select distinct 'deal:' || p.source || ':' || p.deal_id as entity_id, p.client_phone_hash
from crm_deal_phones p
where p.client_phone_hash in (select client_phone_hash from new_call_phones);
create temp table reached_deals as
select distinct 'deal:' || source || ':' || deal_id as entity_id from changed_deals
union
select distinct 'deal:' || p.source || ':' || p.deal_id
from crm_deal_phones p
where p.client_phone_hash in (select client_phone_hash from changed_phones);
"""


def read_changes(con: duckdb.DuckDBPyConnection) -> Changes:
    """The changed deals (temp table changed_deals), their phones and the new calls' (temp
    tables: changed_phones, new_call_phones, new_call_deal_phones,
    reached_deals), and the earliest changes."""
    con.execute(f"create temp table changed_deals as {_CHANGED_DEALS}")
    con.execute(_PHONES)
    (cutoff,) = con.execute("select cutoff_at from previous.marts.data_cutoff").fetchone()
    first_call = con.execute(
        "select source, min(started_at) from new_calls where started_at is not null group by all"
    ).fetchall()
    (first_delivered_call,) = con.execute("select min(started_at) from delivered_calls").fetchone()
    first_entry = con.execute(
        "select source, min(entered_at) from new_crm_stage_events "
        "where entered_at is not null group by all"
    ).fetchall()
    created = con.execute(
        "select source, crm_pipeline, min(created_at) from changed_deals "
        "where created_at is not null group by all"
    ).fetchall()
    return Changes(
        cutoff,
        dict(first_call),
        first_delivered_call,
        dict(first_entry),
        {(source, pipeline): at for source, pipeline, at in created},
    )


def reached_cohort(con: duckdb.DuckDBPyConnection, funnel_id: str) -> dt.date | None:
    """The earliest previous cohort month, in one funnel, of an entity a changed deal
    reaches (read_changes' tables); None if there is none."""
    return con.execute(_REACHED_COHORT, [funnel_id, funnel_id]).fetchone()[0]


def reached_by_new_calls(con: duckdb.DuckDBPyConnection, funnel) -> dt.date | None:
    """The earliest previous cohort month, in `funnel`, of an entity whose stage rows a
    new call can change (pipeline/incremental.py's docstring); None if there is none."""
    call_stages = [order for order, stage in enumerate(funnel.stages, start=1) if stage.calls]
    if not call_stages:
        return None  # no call enters a stage: no call entries at all
    return con.execute(
        _REACHED_BY_NEW_CALLS,
        {
            "funnel_id": funnel.id,
            "window": dt.timedelta(days=funnel.window_days),
            "call_stages": call_stages,
        },
    ).fetchone()[0]


# The earliest previous cohort month, in one funnel, of an entity a changed deal reaches.
_REACHED_COHORT = """
select min(cohort_month) from (
    select e.cohort_month
    from previous.intermediate.int_entities_described e
    semi join reached_deals r using (entity_id)
    where e.funnel_id = ?
    union all
    select s.cohort_month
    from previous.intermediate.int_call_leads_sessionized s
    where s.funnel_id = ?
      and s.client_phone_hash in (select client_phone_hash from changed_phones)
)
"""

# The earliest previous cohort month, in one funnel, of an entity a new call can add a
# call entry to that is not its first into that stage: deals of the call's phone open at
# or after the phone's first new call; episodes of the phone with a call from a window
# before it on. Left out: entities with an exact entry, at or before the phone's first new
# call, into every call stage (a later entry changes none of their stage rows).
_REACHED_BY_NEW_CALLS = """
with deals as (
    select e.entity_id, e.cohort_month, min(n.first_call_at) as first_call_at
    from previous.intermediate.int_entities_described e
    inner join new_call_deal_phones p using (entity_id)
    inner join new_call_phones n using (client_phone_hash)
    where e.funnel_id = $funnel_id
      and e.entity_kind = 'deal'
      and (e.closed_at is null or e.closed_at >= n.first_call_at)
    group by all
),
episodes as (
    select s.entity_id, min(s.cohort_month) as cohort_month, min(n.first_call_at) as first_call_at
    from previous.intermediate.int_call_leads_sessionized s
    inner join new_call_phones n using (client_phone_hash)
    where s.funnel_id = $funnel_id
    group by s.entity_id
    having max(s.started_at) >= min(n.first_call_at) - $window
),
touched as (
    select * from deals
    union all
    select * from episodes
),
entered as (
    select t.entity_id
    from touched t
    inner join previous.intermediate.int_stage_entries_unioned x
        on x.funnel_id = $funnel_id and x.entity_id = t.entity_id
    where x.is_exact
      and x.entered_at <= t.first_call_at
      and list_contains($call_stages, x.stage_order)
    group by t.entity_id, t.first_call_at
    having count(distinct x.stage_order) = len($call_stages)
)
select min(cohort_month) from touched t
where not exists (select 1 from entered x where x.entity_id = t.entity_id)
"""


def split_parts(
    landing: Path, table: str, parts: list[Path], new_files: set[str]
) -> tuple[list[Path], list[Path]]:
    """The new files' parts of `table`, and the old parts that may hold a row equal to one
    of theirs: a partitioned table's parts are split by the month of a column (pipeline/io),
    so equal rows lie in the same month folder; a part outside a month folder (the flat
    layout) may hold any month's rows."""
    new_parts = [p for f in sorted(new_files) for p in io.file_parts(landing, table, f)]
    folders = {p.parent for p in new_parts}
    flat = io.table_dir(landing, table)
    chosen = set(new_parts)
    old_parts = [
        p
        for p in parts
        if p not in chosen and (flat in folders or p.parent in folders or p.parent == flat)
    ]
    return new_parts, old_parts


def _new_rows(table: str, select: str, columns: list[str], old_parts: list[Path]) -> str:
    """`new_<table>`: the rows of `delivered_<table>` that no old part holds. One anti join
    whose hash table DuckDB builds on the smaller side (both are parquet files, their row
    counts known); the old side reads only the parts that may match (split_parts), so a
    month no new row falls in is never read."""
    content = [name for name in columns if name != "file_id"]
    matches = " and ".join(f"n.{name} is not distinct from o.{name}" for name in content)
    return (
        f"create temp table new_{table} as select n.* "
        f"from delivered_{table} n "
        f"anti join (select {select} from {_read_parquet(old_parts)}) o on {matches}"
    )


def _read_parquet(parts: list[Path]) -> str:
    """Landing parts as one relation (every part of a table has the table's columns: dbt's
    sources read them so)."""
    listed = ", ".join(f"'{quoted(path)}'" for path in parts)
    return f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"


def quoted(path: Path) -> str:
    return path.as_posix().replace("'", "''")
