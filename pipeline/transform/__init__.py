"""Normalize: pure polars functions turning a preset's raw all-string frame into the
canonical landing tables (phones → E.164, local times → UTC, numbers, statuses).

Nothing here reads files or imports Dagster; `pipeline.ingest` wires it to `pipeline.io`.
"""
