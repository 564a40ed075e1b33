"""The warehouse is published only when a build succeeds."""

import pytest
import yaml

from pipeline.config import load_config
from pipeline.paths import DBT_PROJECT_DIR, REPO_ROOT
from pipeline.warehouse import (
    MEMORY_LIMIT_ENV,
    TEMP_DIR_ENV,
    THREADS_ENV,
    build_copy,
    dbt_vars,
    duckdb_resources,
    duckdb_settings,
)


def test_failed_build_leaves_the_published_warehouse_untouched(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"published")
    with pytest.raises(RuntimeError), build_copy(published) as build_file:
        build_file.write_bytes(b"half-built")
        raise RuntimeError("dbt test failed")
    assert published.read_bytes() == b"published"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_successful_build_replaces_the_published_warehouse(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"old")
    with build_copy(published) as build_file:
        assert build_file.read_bytes() == b"old", "the build starts from the published copy"
        build_file.write_bytes(b"new")
    assert published.read_bytes() == b"new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_dbt_vars_come_from_the_config():
    config = load_config(REPO_ROOT / "voronka.yaml")
    assert dbt_vars(config) == {
        "landing_path": (REPO_ROOT / "data" / "landing").as_posix(),
        "timezone": "Europe/Moscow",
    }


@pytest.mark.parametrize(
    ("memory_mb", "limit"),
    [(24_000, "4096MB"), (8_000, "2000MB"), (2_000, "1024MB")],
)
def test_duckdb_takes_a_quarter_of_the_memory_within_one_to_four_gb(tmp_path, memory_mb, limit):
    settings = duckdb_settings(memory_mb, 2, tmp_path / "warehouse.build.duckdb")
    assert settings == {
        MEMORY_LIMIT_ENV: limit,
        THREADS_ENV: "2",
        TEMP_DIR_ENV: str(tmp_path / "duckdb-spill"),
    }


def test_a_setting_in_the_environment_wins_over_the_machine(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "700MB")
    monkeypatch.delenv(THREADS_ENV, raising=False)
    resources = duckdb_resources(tmp_path / "warehouse.duckdb")
    assert resources[MEMORY_LIMIT_ENV] == "700MB"
    assert int(resources[THREADS_ENV]) >= 1


def test_the_profile_reads_the_three_settings():
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    settings = profile["voronka"]["outputs"]["duckdb"]["settings"]
    for key, name in (("memory_limit", MEMORY_LIMIT_ENV), ("threads", THREADS_ENV),
                      ("temp_directory", TEMP_DIR_ENV)):  # fmt: skip
        assert f"env_var('{name}'" in settings[key]
