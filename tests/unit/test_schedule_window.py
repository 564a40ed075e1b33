"""The partition key → the reported month (pure). No model reads a month window: the dbt
assets are not partitioned (pipeline/defs/dbt.py)."""

from __future__ import annotations

from pipeline.defs.partitions import month_of


def test_the_partition_key_names_the_reported_month():
    assert month_of("2026-10-01") == "2026-10"
