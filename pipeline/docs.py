"""`make dbt-docs`: dbt's documentation site (lineage, every column) for the built warehouse.

dbt documents a copy of the published warehouse (the catalog: every column's type), taken
under the writer lock, and keeps its artifacts in a target folder of its own. The
published file is never opened: a process writing it would shut out the reports that read
it, and dbt's on-run-start writes the landing views into the file it opens. dbt's parse
state in dbt_project/target stays the builds' (docs parse with another file's name, and
each such parse would make the next build parse the whole project again).
"""

from pathlib import Path

from pipeline.config import load_config
from pipeline.locks import warehouse_lock
from pipeline.paths import REPO_ROOT
from pipeline.warehouse import cli_target_dir, clone_or_copy, prepare_landing, run_dbt, wal_path


def docs_target_dir() -> Path:
    return cli_target_dir() / "docs"


def build_docs(config_path: Path = REPO_ROOT / "voronka.yaml") -> Path:
    """Write dbt's static docs site; return its path. Without a built warehouse (no `make
    demo` yet) dbt documents the models from their yml alone."""
    config = load_config(config_path)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    scratch = config.state_dir / "docs.duckdb"
    copies = (scratch, wal_path(scratch))
    for path in copies:
        path.unlink(missing_ok=True)
    try:
        with warehouse_lock(config):  # landing's config tables; the file as published
            prepare_landing(config)
            published = (config.warehouse_path, wal_path(config.warehouse_path))
            for source, copy in zip(published, copies, strict=True):
                if source.exists():
                    clone_or_copy(source, copy)
        target = docs_target_dir()
        run_dbt(
            config,
            ["docs", "generate", "--static"],
            scratch,
            environment={"DBT_TARGET_PATH": str(target)},
        )
    finally:
        for path in copies:
            path.unlink(missing_ok=True)
    return target / "static_index.html"


if __name__ == "__main__":
    print(f"dbt docs: {build_docs()}")
