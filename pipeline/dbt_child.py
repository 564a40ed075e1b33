"""`voronka-dbt`: the dbt every build runs, the CLI's (pipeline.warehouse.run_dbt) and the
Dagster asset's (pipeline.defs.dbt), with one addition to dbt.

Models built side by side share one DuckDB and its memory_limit. Each can spill what
exceeds it, but two heavy models can together hold more memory than the limit in the
parts they cannot spill at that moment, and one of them then fails with DuckDB's
"Out of Memory Error" (seen at full scale when `int_entity_stages_reached` and
`int_forecast_deal_periods` overlapped). Such a `dbt build` is not a failure yet: the
models that failed or were skipped are built again in the same build file, one at a time
(`dbt retry --threads 1`), and the build succeeds if they do. Any other failure is dbt's,
as it was, and every other command is plain dbt.
"""

from __future__ import annotations

import sys

OUT_OF_MEMORY = "Out of Memory Error"
RETRY_NOTICE = (
    "DuckDB ran out of memory with models built side by side: building the models that "
    "failed or were skipped again, one at a time"
)
# The options `dbt retry` takes from its own command line, not from the build it retries.
LOCATION_OPTIONS = ("--project-dir", "--profiles-dir", "--target-path", "--log-path")
SUCCESS, MODEL_ERROR, UNHANDLED_ERROR = 0, 1, 2  # dbt's exit codes


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if command(args) != "build":
        from dbt.cli.main import cli

        cli.main(args=args, prog_name="dbt")  # exits with dbt's own code
        return SUCCESS
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(args)
    if ran_out_of_memory(result):
        print(RETRY_NOTICE, flush=True)
        result = dbtRunner().invoke(retry_args(args))
    if result.exception is not None:
        print(result.exception, file=sys.stderr, flush=True)
        return UNHANDLED_ERROR
    return SUCCESS if result.success else MODEL_ERROR


def command(args: list[str]) -> str | None:
    """dbt's subcommand: the first argument that is not an option."""
    return next((arg for arg in args if not arg.startswith("-")), None)


def ran_out_of_memory(result) -> bool:
    """A build that failed because a model or test ran out of DuckDB's memory."""
    results = getattr(result.result, "results", None) or []
    return not result.success and any(
        str(node.status) == "error" and OUT_OF_MEMORY in (node.message or "") for node in results
    )


def retry_args(args: list[str]) -> list[str]:
    """`dbt retry` of the build `args` ran, one model at a time, in the same places: the
    build's own arguments (selection, vars, target, --full-refresh) dbt reads from its
    run_results.json; the project, profiles, target and log folders it does not."""
    kept: list[str] = []
    for i, arg in enumerate(args):
        name = arg.split("=", 1)[0]
        if name not in LOCATION_OPTIONS:
            continue
        kept += [arg] if "=" in arg else args[i : i + 2]
    return ["retry", "--threads", "1", *kept]


if __name__ == "__main__":
    sys.exit(main())
