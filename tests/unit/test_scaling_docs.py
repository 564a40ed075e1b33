"""The Dagster settings docs/scaling.md tells a team to use are valid for this Dagster:
the Postgres-backed dagster.yaml against the instance config schema (no database is
contacted), and the executor run config against the default executor's schema."""

from __future__ import annotations

import re

import pytest
import yaml

from pipeline.paths import REPO_ROOT

SCALING = REPO_ROOT / "docs" / "scaling.md"


def yaml_blocks() -> list[dict]:
    text = SCALING.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def block_with(key: str) -> dict:
    [block] = [b for b in yaml_blocks() if isinstance(b, dict) and key in b]
    return block


def test_the_documented_dagster_yaml_is_valid_instance_config(tmp_path, monkeypatch):
    from dagster._core.instance.config import dagster_instance_config

    settings = block_with("storage")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_DB", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD"):
        monkeypatch.setenv(name, "x")
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    database = config["storage"]["postgres"]["postgres_db"]
    for key in ("hostname", "db_name", "username", "password"):  # never a literal secret
        assert set(database[key]) == {"env"}, key
    assert config["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}


def test_a_wrong_key_in_that_snippet_would_be_caught(tmp_path):
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config

    settings = block_with("storage")
    settings["storage"]["postgres"]["postgres_db"]["hostnme"] = "typo"
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    with pytest.raises(DagsterInvalidConfigError, match="hostnme"):
        dagster_instance_config(str(tmp_path))


def test_the_documented_executor_config_is_valid_for_the_default_executor():
    import dagster as dg

    @dg.asset
    def anything() -> None: ...

    defs = dg.Definitions(assets=[anything], jobs=[dg.define_asset_job("job")])
    job = defs.resolve_job_def("job")
    assert job.executor_def.name == "multi_or_in_process_executor"  # Dagster's default
    run_config = block_with("execution")
    assert run_config["execution"]["config"]["multiprocess"]["max_concurrent"] > 1
    dg.validate_run_config(job, run_config)
