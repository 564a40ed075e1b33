"""dbt assets: one `dbt build` per run, into a second warehouse file swapped in on success.

The build's arguments are the CLI's, from one function (pipeline.warehouse.build_args):
models and data tests, not dbt unit tests (they run in `make test`, with their own vars).
DbtCliResource runs them so that dagster-dbt turns dbt's events into asset events.

The target is chosen as the CLI chooses it (pipeline.warehouse.dbt_target:
VORONKA_DBT_TARGET, DuckDB by default): DuckDB builds into a copy of the published file
(pipeline.warehouse.build_copy), Spark into a fresh warehouse folder beside it
(pipeline.warehouse.build_location, shared with build_warehouse).

Not partitioned: no model reads a month window. A build recomputes what changed since the
previous build (pipeline/incremental.py: the months from a boundary on, or everything),
whichever month a run reports, so the dbt assets' status is the warehouse's, and a
backfill of any range is one build. The reports are the monthly assets.
dbt tests become asset checks (dagster-dbt's default); a failing test fails the build,
the copy is thrown away, and nothing downstream — the report — runs. A run of every dbt
asset with nothing new since the published warehouse runs no dbt, as the CLI's build
(pipeline.warehouse.nothing_to_build): it materializes the assets as they are, with no
check evaluations (their latest stay those of the build that wrote the tables).

What the Dagster build costs beyond the CLI's (docs/performance.md, "Dagster monthly job
vs voronka run"): dagster-dbt's runner is kept, without the work Voronka does not use —
see VoronkaDbtCli — and each site's Dagster builds keep one dbt target folder
(dbt_target_path), so dbt parses partially from one build to the next as the CLI's do.
"""

import graphlib
import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import dagster as dg
from dagster._utils import run_with_concurrent_update_guard
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.dbt_project import using_dagster_dev
from packaging import version

from pipeline.config import Config
from pipeline.dbt_child import RETRY_NOTICE
from pipeline.defs.asset_order import with_left_out
from pipeline.defs.ingest import WRITER_POOL
from pipeline.defs.resources import VoronkaConfig
from pipeline.locks import logged_warehouse_lock
from pipeline.paths import DBT_PROJECT_DIR, configured_path
from pipeline.prepare import prepare_dbt_manifest
from pipeline.processes import without_huge_pages
from pipeline.warehouse import (
    DBT_EXECUTABLE,
    DUCKDB,
    PARSE_STATE,
    UP_TO_DATE,
    build_args,
    build_location,
    cli_target_dir,
    copy_parse_state,
    dbt_environment,
    dbt_executable,
    dbt_target,
    nothing_to_build,
    prepare_landing,
    rebuild_plan,
)


def prepare_if_dev(project: DbtProject) -> None:
    """What dagster-dbt's `prepare_if_dev` does under `dagster dev` (the manifest made again
    when the code location loads, one process at a time), with the manifest made as `python
    -m pipeline.prepare` makes it: parsed with the vars and profile of a build of the code
    location's config ($VORONKA_CONFIG, else ./voronka.yaml), so the parse state it leaves
    in dbt_project/target serves that site's next build. dagster-dbt's own `dbt parse`
    renders the profile without the build's environment, and the next build then parsed the
    whole project again (~6 s)."""
    if using_dagster_dev():
        run_with_concurrent_update_guard(
            project.manifest_path, prepare_dbt_manifest, config_path=configured_path()
        )


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
prepare_if_dev(dbt_project)


class VoronkaDbtTranslator(DagsterDbtTranslator):
    """All dbt → Dagster mapping: keys are <schema>/<name>, groups are the dbt layers."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
        if node["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([node["source_name"], node["name"]]))
        layer = node["fqn"][1] if len(node["fqn"]) > 2 else "marts"
        return spec.replace_attributes(key=dg.AssetKey([layer, node["name"]]), group_name=layer)


class VoronkaDbtCli(DbtCliResource):
    """dagster-dbt's runner (dbt's events become asset events), without what Voronka does
    not use. dbt itself runs as a child process, with the arguments it is given, either way.
    (Private methods of the pinned dagster-dbt: when they change,
    tests/e2e/test_dagster_targets.py fails.)

    - No dbt adapter opened in Dagster's own process before each invocation (~12 s here):
      it serves only to fetch row counts and column metadata, which Voronka does not ask for.
    - No `dbt --version` child (a second dbt start, ~3 s of CPU) to tell dbt Core from dbt
      Fusion: the dbt beside this Python is this environment's dbt-core, whose version the
      package metadata holds. Any other executable is still asked.
    - dbt's output is read by a thread of its own as fast as dbt writes it (DrainedPipe):
      dagster-dbt reads a line, stores its Dagster events, then reads the next, so dbt
      waited on a full pipe whenever the event log was slower than the build.
    - dbt starts without transparent huge pages, as the CLI's (pipeline/processes.py).
    - A build retried after DuckDB ran out of memory (pipeline/dbt_child.py) is the
      build's success or failure, not its first pass's: dagster-dbt fails a run on any
      error-level line dbt wrote, so the first pass's errors reach it as warnings once the
      retry is announced (RetriedErrors), and the notice is a warning in the run's log.
    """

    def _initialize_dbt_core_adapter(self, args):
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).parent / DBT_EXECUTABLE:
            return version.parse(metadata.version("dbt-core"))
        return super()._cli_version

    def cli(self, args, **kwargs):
        with without_huge_pages():  # as the CLI's dbt (pipeline/processes.py)
            invocation = super().cli(args, **kwargs)
        context = kwargs.get("context")
        warn = context.log.warning if context is not None else None
        invocation.process.stdout = RetriedErrors(DrainedPipe(invocation.process.stdout), warn)
        return invocation


_NOTICE_LINE = RETRY_NOTICE.encode()


class RetriedErrors:
    """dbt's JSON lines as they come, but for its error-level lines: held until the build
    either retries (RETRY_NOTICE: they were the first pass's, and go on as warnings, after
    the notice, which `warn` is given too) or ends without one (they go on as dbt wrote
    them, last). A line after the notice is the retry's, and goes on as it is."""

    def __init__(self, pipe: "DrainedPipe", warn: Callable[[str], None] | None = None):
        self._pipe = pipe
        self._warn = warn

    @property
    def closed(self) -> bool:
        return self._pipe.closed

    def __iter__(self) -> Iterator[bytes]:
        held: list[tuple[bytes, dict]] = []  # the first pass's error lines, as events too
        retried = False
        for line in self._pipe:
            if retried:
                yield line
            elif (event := _error_event(line)) is not None:
                held.append((line, event))
            elif line.rstrip(b"\r\n") == _NOTICE_LINE:
                retried = True
                if self._warn is not None:
                    self._warn(RETRY_NOTICE)
                yield line
                yield from (_as_warning(event) for _, event in held)
                held.clear()
            else:
                yield line
        yield from (line for line, _ in held)

    def __enter__(self) -> "RetriedErrors":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._pipe.close()


def _error_event(line: bytes) -> dict | None:
    """A line of dbt's JSON log at level error, as its event; None for any other line."""
    if b'"error"' not in line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    info = event.get("info") if isinstance(event, dict) else None
    return event if isinstance(info, dict) and info.get("level") == "error" else None


def _as_warning(event: dict) -> bytes:
    event["info"]["level"] = "warn"
    return json.dumps(event).encode() + b"\n"


class DrainedPipe:
    """A child's stdout, read to its end by a thread as fast as the child writes, for one
    reader that iterates over it (lines as bytes, as the pipe gives them). The thread
    closes the pipe at its end; close() before that leaves it to the thread (a stopped
    run signals dbt, which then ends its output)."""

    def __init__(self, pipe: IO[bytes]):
        self._pipe = pipe
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._done = threading.Event()
        self._read_to_end = False
        threading.Thread(target=self._drain, name="dbt-stdout", daemon=True).start()

    def _drain(self) -> None:
        try:
            for line in self._pipe:
                self._lines.put(line)
        except (OSError, ValueError):
            pass  # closed under us: nothing more to read
        finally:
            self._lines.put(None)
            self._pipe.close()
            self._done.set()

    @property
    def closed(self) -> bool:
        """True once every line was read (not merely once the thread has them all)."""
        return self._read_to_end

    def __iter__(self) -> Iterator[bytes]:
        if self._read_to_end:
            return
        while (line := self._lines.get()) is not None:
            yield line
        self._read_to_end = True

    def __enter__(self) -> "DrainedPipe":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._done.is_set():
            self._pipe.close()


def dbt_target_path(config: Config, target: str) -> Path:
    """Where the Dagster builds of this site keep dbt's artifacts and logs for `target`
    (DBT_TARGET_PATH): one folder, not one per invocation (dagster-dbt's default), so that
    dbt's partial_parse.msgpack of the previous build is there and dbt does not parse the
    whole project again when nothing it parses changed. For Spark it is the CLI's folder
    (pipeline.warehouse.spark_artifacts_env); DuckDB builds of the CLI keep dbt's default,
    dbt_project/target, whose manifest the code location reads. One build at a time: the
    asset runs dbt under the warehouse lock."""
    return config.state_dir / f"dbt-{target}" / "target"


def seeded_target_path(config: Config, target: str) -> Path:
    """dbt_target_path, holding a parse state from the first build on: a site's first
    DuckDB build starts from the parse state of the CLI's builds on this machine
    (DBT_TARGET_PATH, else dbt_project/target) when it has none of its own. The parse
    state holds no site's path (pipeline.warehouse.location_environment), and dbt
    checks it before use: where it does not fit (other models, another dbt), dbt parses
    the whole project as it would have."""
    folder = dbt_target_path(config, target)
    if target == DUCKDB and not (folder / PARSE_STATE).exists():
        copy_parse_state(cli_target_dir(), folder)
    return folder


def dbt_resource() -> DbtCliResource:
    return VoronkaDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def in_dependency_order(assets: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """The assets' keys, each after those it depends on (Dagster takes a multi-asset's
    materializations in that order); ties in key order."""
    sorter = graphlib.TopologicalSorter(parents_among(assets, set(assets.keys)))
    sorter.prepare()
    ordered: list[dg.AssetKey] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda key: key.to_user_string())
        ordered.extend(ready)
        sorter.done(*ready)
    return ordered


LEFT_OUT = (
    "kept: no CRM file is new since the previous build, so this table, built from CRM data "
    "and config alone, is as that build wrote and checked it"
)


def left_out_keys(context: dg.AssetExecutionContext, tag: str | None) -> list[dg.AssetKey]:
    """The selected assets whose dbt models carry `tag` (the tag a rebuild plan leaves
    out, RebuildPlan.left_out; None: none), in dependency order."""
    if tag is None:
        return []
    kept = {spec.key for spec in context.assets_def.specs if tag in spec.tags}
    kept &= context.selected_asset_keys
    return [key for key in in_dependency_order(context.assets_def) if key in kept]


def parents_among(
    assets: dg.AssetsDefinition, keys: set[dg.AssetKey]
) -> dict[dg.AssetKey, set[dg.AssetKey]]:
    """Each of `keys`' parents among `keys`."""
    return {
        spec.key: {dep.asset_key for dep in spec.deps} & keys
        for spec in assets.specs
        if spec.key in keys
    }


def event_asset_key(context: dg.AssetExecutionContext, event: object) -> dg.AssetKey | None:
    """The asset a dbt event is about (an Output names its output, the others their asset)."""
    if isinstance(event, dg.Output):
        return context.asset_key_for_output(event.output_name)
    return getattr(event, "asset_key", None)


def voronka_dbt_assets() -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=VoronkaDbtTranslator(),
        pool=WRITER_POOL,
    )
    def voronka_dbt_assets(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, voronka: VoronkaConfig
    ):
        config = voronka.load()
        target = dbt_target()
        with logged_warehouse_lock(config, context.log.info):
            prepare_landing(config)
            whole = context.selected_asset_keys == context.assets_def.keys
            if nothing_to_build(config, target, whole=whole):
                # The published tables as they are (their checks passed in the build that
                # wrote them): materialized, so the reports downstream run.
                context.log.info(UP_TO_DATE)
                for key in in_dependency_order(context.assets_def):
                    yield dg.MaterializeResult(asset_key=key, metadata={"build": UP_TO_DATE})
                return
            with (
                build_location(config, target) as location,
                _environment(dbt_environment(config, target, location.path)),
            ):
                # Which months to recompute, from what changed since the build the copy
                # starts from (pipeline/incremental.py): the CLI's plan, the CLI's arguments.
                # (dagster-dbt gives each invocation its own target path, so a Spark build's
                # artifacts never replace the manifest Dagster reads.)
                plan = rebuild_plan(config, target, location.starts_from)
                context.log.info(f"dbt target: {target}; {plan.describe()}")
                with _environment(plan.dbt_env()):  # the boundaries, as the CLI passes them
                    events = dbt.cli(
                        build_args(config, plan, target),
                        context=context,
                        target_path=seeded_target_path(config, target),
                    ).stream()
                    # The models the plan left out of dbt's run: as the previous build
                    # left them, materialized where Dagster takes them.
                    yield from with_left_out(
                        events,
                        left_out_keys(context, plan.left_out),
                        parents_among(context.assets_def, set(context.selected_asset_keys)),
                        key_of=lambda event: event_asset_key(context, event),
                        kept=lambda key: dg.MaterializeResult(
                            asset_key=key, metadata={"build": LEFT_OUT}
                        ),
                    )

    return voronka_dbt_assets
