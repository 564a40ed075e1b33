"""`voronka` command line: thin over the same functions the Dagster assets call.

Exit codes: 0 ok, 1 the run failed, 2 bad usage or config. A failed run (demo, run,
ingest, build, report) leaves a failure record, as a failed Dagster run does
(pipeline/failures.py): the step it failed in, the error with its causes, what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline import months
from pipeline.config import Config, ConfigError, load_config
from pipeline.locks import warehouse_lock
from pipeline.notices import hash_key_warning, unseen_mapping_warnings
from pipeline.paths import configured_path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The commands that are runs: a failure leaves a record. `check`, `plan`, `forecast` only read.
RUNS = ("demo", "run", "ingest", "build", "report")
FAILED_STEP = "voronka_step"  # set on an exception by the step it escaped from
MONTH_HELP = "month to report, YYYY-MM (default: the last complete month before the data cutoff)"


class UsageError(Exception):
    """A mistake in how the command was called (exit 2)."""


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def step(name: str) -> Iterator[None]:
    say(f"▶ {name} …")
    started = time.monotonic()
    try:
        yield
    except Exception as error:
        if not hasattr(error, FAILED_STEP):  # the innermost step names the failure
            with contextlib.suppress(AttributeError):
                setattr(error, FAILED_STEP, name)
        raise
    say(f"✓ {name} ({time.monotonic() - started:.1f} s)")


def parse_month(value: str | None) -> str | None:
    """--month as 'YYYY-MM' (pipeline.months.parse_month's rule); None when not given."""
    if value is None:
        return None
    try:
        return f"{months.parse_month(value):%Y-%m}"
    except ValueError:
        raise UsageError(f"--month must look like 2026-10, got {value!r}") from None


def do_ingest(config: Config) -> None:
    from pipeline.ingest import ingest_inbox

    with step("ingest: read the inbox into landing parquet"):
        summary = ingest_inbox(config, progress=lambda line: say(f"  {line}"))
        say(
            f"  {len(summary.files)} file(s); rows {summary.rows_total}: "
            f"{summary.rows_accepted} accepted, {summary.rows_rejected} rejected"
        )


def do_build(config: Config, select: list[str] | None = None) -> None:
    from pipeline.warehouse import build_warehouse

    with step("build: dbt models and data tests"):
        build_warehouse(config, select=select, progress=lambda line: say(f"  {_short(line)}"))


def do_report(config: Config, month: str | None, locales: list[str] | None) -> list[Path]:
    from pipeline.reporting import default_report_month, render_reports

    # Without a warehouse the report step says it is missing; with marts of no data at all,
    # default_report_month says so.
    complete = default_report_month(config) if config.warehouse_path.exists() else None
    if month and complete:
        latest = f"{months.add_months(months.parse_month(complete), 1):%Y-%m}"
        if month > latest:
            raise UsageError(
                f"--month {month} is after the data cutoff's month {latest}: no data for it "
                "(the month in progress is the latest a report can show)"
            )
    month = month or complete or default_report_month(config)
    with step(f"report: PDFs for {month}"):
        paths = render_reports(config, month, locales=locales)
    say("Reports:")
    for path in paths:
        say(f"  {path}")
    for line in stage_time_notes(config):
        say(line)
    return paths


def stage_time_notes(config: Config) -> list[str]:
    """What the data cannot support, in plain words (the PDFs say it on page 1 too)."""
    from pipeline.reporting.stages import stage_times_unknown
    from pipeline.reporting.warehouse import read_stage_time_coverage

    return [
        f"Note: funnel {funnel_id!r}: stage times unknown for {converted - timed} of "
        f"{converted} stage transitions (stages known only from exports without history); "
        "stage durations are withheld. Send weekly exports or a stage-history file."
        for funnel_id, (converted, timed) in read_stage_time_coverage(config.warehouse_path).items()
        if stage_times_unknown(converted, timed)
    ]


def _short(dbt_line: str) -> str:
    # dbt prefixes a timestamp; the rest is what a person reads.
    return dbt_line.split("  ", 1)[-1].strip() if dbt_line[:2].isdigit() else dbt_line.strip()


def demo_crm_format(config: Config) -> str:
    """The demo writes its CRM exports in the format of the config's CRM source preset."""
    from pipeline.demo import CRM_FORMATS

    crm = [source for source in config.sources if source.kind == "crm"]
    if len(crm) != 1:
        names = ", ".join(source.name for source in crm) or "none"
        raise UsageError(
            f"the demo needs exactly one source of kind 'crm' in the config, found: {names}"
        )
    source = crm[0]
    if source.preset not in CRM_FORMATS:
        raise UsageError(
            f"source {source.name!r}: the demo writes CRM exports only as "
            f"{' or '.join(repr(f) for f in CRM_FORMATS)} (preset {source.preset!r} given)"
        )
    return source.preset


def cmd_demo(config: Config, args: argparse.Namespace) -> None:
    from pipeline.demo import write_demo_exports

    crm_format = demo_crm_format(config)
    other_zones = [s.name for s in config.sources if s.timezone not in (None, config.timezone)]
    if other_zones:
        raise UsageError(
            f"the demo writes every export in the top-level timezone {config.timezone}; "
            f"remove `timezone:` from source(s) {', '.join(other_zones)}"
        )
    with warehouse_lock(config):
        with step(f"demo: write the seeded demo exports (CRM as {crm_format})"):
            summary = write_demo_exports(
                config.inbox_dir,
                config.inbox_dir.parent / "demo_expected",
                seed=args.seed,
                crm_format=crm_format,
                timezone=config.timezone,
            )
            say(f"  {len(summary.files)} export file(s) in {config.inbox_dir}")
        do_ingest(config)
        do_build(config)
        do_report(config, None, None)


def cmd_run(config: Config, args: argparse.Namespace) -> None:
    month = parse_month(args.month)
    warn_hash_key(config)
    with warehouse_lock(config):
        do_ingest(config)
        do_build(config)
        for line in unseen_mapping_warnings(config.warehouse_path):
            say(line)
        do_report(config, month, None)


def cmd_ingest(config: Config, args: argparse.Namespace) -> None:
    warn_hash_key(config)
    with warehouse_lock(config):
        do_ingest(config)


def warn_hash_key(config: Config) -> None:
    """Loudly, on stderr: phones hashed with the demo key (or none) can be matched back."""
    warning = hash_key_warning(config)
    if warning:
        print(warning, file=sys.stderr, flush=True)


def cmd_build(config: Config, args: argparse.Namespace) -> None:
    with warehouse_lock(config):
        do_build(config, select=args.select)


def cmd_report(config: Config, args: argparse.Namespace) -> None:
    month = parse_month(args.month)
    locales = [args.locale] if args.locale else None
    if args.locale and args.locale not in config.locales:
        raise UsageError(
            f"--locale {args.locale!r} is not in the config's locales {config.locales}"
        )
    with warehouse_lock(config):
        do_report(config, month, locales)


class CheckFailed(Exception):
    """`voronka check`: ingest would fail on the file (exit 1)."""


def export_path(config: Config, given: str) -> Path:
    """FILE of `voronka check`: relative to the working directory, else to the inbox (as
    `voronka run` names files)."""
    for path in (Path(given), config.inbox_dir / given):
        if path.is_file():
            return path
    raise UsageError(
        f"{given}: no such file (looked in the working directory and in the inbox "
        f"{config.inbox_dir})"
    )


def cmd_check(config: Config, args: argparse.Namespace) -> None:
    from pipeline.ingest import check_file

    path = export_path(config, args.file)
    if args.source:
        try:
            config.source(args.source)
        except KeyError:
            known = ", ".join(source.name for source in config.sources)
            raise UsageError(
                f"unknown source {args.source!r}; configured sources: {known}"
            ) from None
    report = check_file(config, path, args.source)
    warn_hash_key(config)
    say(report.render())
    if not report.ok:
        raise CheckFailed(f"{report.path} would fail ingest: {report.problem}")


def cmd_plan(config: Config, args: argparse.Namespace) -> None:
    from pipeline.planning import plan_for

    if args.target <= 0:
        raise UsageError("--target must be a positive number of closed sales")
    month = parse_month(args.month)
    by = args.by
    funnel = config.funnel(args.funnel)
    if by and by not in funnel.segment_types:
        raise UsageError(
            f"--by {by!r} is not a segment type of {funnel.id!r}: {funnel.segment_types}"
        )
    with warehouse_lock(config):
        say(plan_for(config, args.funnel, args.target, month, by))


def cmd_forecast(config: Config, args: argparse.Namespace) -> None:
    from pipeline.forecast import ForecastMonthError, forecast_for

    month = parse_month(args.month)
    if args.by and args.by != "manager":
        raise UsageError(f"--by {args.by!r}: the forecast is by manager only")
    with warehouse_lock(config):
        try:
            say(forecast_for(config, args.funnel, month, args.by))
        except ForecastMonthError as error:
            raise UsageError(str(error)) from None


COMMANDS: dict[str, tuple[Callable[[Config, argparse.Namespace], None], str]] = {
    "demo": (cmd_demo, "write the demo exports, run the whole pipeline, print where the PDFs are"),
    "run": (cmd_run, "ingest the inbox, build the warehouse, render the month's reports"),
    "ingest": (cmd_ingest, "read new inbox files into the landing tables"),
    "build": (cmd_build, "build the warehouse: dbt models and data tests, if anything is new"),
    "report": (cmd_report, "render the month's PDF reports from the warehouse"),
    "plan": (cmd_plan, "volume needed at every stage for N closed sales, with a range"),
    "forecast": (cmd_forecast, "deals to be won in the cutoff's month, 80 % range, backtest"),
    "check": (
        cmd_check,
        "dry-run one export: preset, encoding, mapping, rejects; writes nothing; "
        "exit 1 when ingest would fail on it",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voronka", description="Sales-funnel analytics.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        # argparse formats `help` with % (a literal one is %%), never `description`
        sub = commands.add_parser(name, help=help_text.replace("%", "%%"), description=help_text)
        sub.add_argument(
            "--config", help="config file (default: $VORONKA_CONFIG, else ./voronka.yaml)"
        )
        if name == "demo":
            from pipeline.demo import DEFAULT_SEED

            sub.add_argument("--seed", type=int, default=DEFAULT_SEED, help="demo data seed")
        if name in ("run", "report"):
            sub.add_argument("--month", help=MONTH_HELP)
        if name == "report":
            sub.add_argument("--locale", help="render only this locale (ru or en)")
        if name == "build":
            sub.add_argument("--select", nargs="+", help="dbt selection, passed to dbt as is")
        if name == "plan":
            sub.add_argument("--funnel", required=True, help="funnel id from the config")
            sub.add_argument("--target", type=int, required=True, help="closed sales wanted")
            sub.add_argument(
                "--month", help="planned month, YYYY-MM (default: the current data month)"
            )
            sub.add_argument("--by", help="one plan per segment of this type, e.g. manager")
        if name == "forecast":
            sub.add_argument("--funnel", required=True, help="funnel id from the config")
            sub.add_argument(
                "--month", help="YYYY-MM: the forecast month (default) or a backtest month"
            )
            sub.add_argument("--by", help="manager: one forecast per manager")
        if name == "check":
            sub.add_argument("file", help="the export (a path here, or in the inbox)")
            sub.add_argument("--source", help="the configured source it belongs to")
    return parser


def record_run_failure(config: Config, args: argparse.Namespace, error: Exception) -> None:
    """The failure record of a failed CLI run; a record that cannot be written is said,
    and does not change the exit code."""
    from pipeline.failures import FailureRecord, error_text, now_utc, record_failure

    command = f"voronka {args.command}"
    record = FailureRecord(
        run_id=uuid.uuid4().hex,
        job=command,
        month=getattr(args, "month", None),
        step=getattr(error, FAILED_STEP, command),
        error=error_text(error),
        failed_at=now_utc(),
    )
    try:
        path, _ = record_failure(config, record)
    except OSError as problem:
        print(f"voronka: could not write the failure record: {problem}", file=sys.stderr)
        return
    print(f"voronka: failure record: {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    from pipeline.failures import error_text

    args = build_parser().parse_args(argv)
    handler = COMMANDS[args.command][0]
    config = None
    try:
        config = load_config(args.config or configured_path())
        handler(config, args)
    except (ConfigError, UsageError) as error:
        print(f"voronka: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("voronka: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # every other failure: the run failed, say why
        print(f"voronka {args.command} failed: {error_text(error)}", file=sys.stderr)
        if args.command in RUNS and config is not None:
            record_run_failure(config, args, error)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
