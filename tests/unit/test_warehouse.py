"""The warehouse is published only when a build succeeds."""

import pytest

from pipeline.config import load_config
from pipeline.paths import REPO_ROOT
from pipeline.warehouse import build_copy, dbt_vars


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
