"""`make dbt-docs`: dbt's documentation site (lineage, every column) for the built warehouse."""

from pipeline.config import load_config
from pipeline.paths import DBT_PROJECT_DIR, REPO_ROOT
from pipeline.warehouse import prepare_landing, run_dbt


def build_docs(config_path=REPO_ROOT / "voronka.yaml") -> None:
    config = load_config(config_path)
    prepare_landing(config)
    # The catalog (column types) comes from the built warehouse; without one (no `make demo`
    # yet) dbt documents the models from their yml alone, against a scratch file.
    warehouse = config.warehouse_path
    if not warehouse.exists():
        config.state_dir.mkdir(parents=True, exist_ok=True)
        warehouse = config.state_dir / "docs-scratch.duckdb"
    run_dbt(config, ["docs", "generate", "--static"], warehouse)
    print(f"dbt docs: {DBT_PROJECT_DIR / 'target' / 'static_index.html'}")


if __name__ == "__main__":
    build_docs()
