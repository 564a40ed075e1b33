"""dbt-duckdb plugin (dbt_project/profiles.yml): dbt opens the warehouse file only once
it is whole, when the build copies it beside dbt's start (pipeline/build_file.py)."""

from __future__ import annotations

from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin

from pipeline.build_file import wait_for_build_file


class Plugin(BasePlugin):
    def update_connection_config(self, creds, config) -> None:
        """Called by dbt-duckdb right before it opens the database file."""
        if creds.path and creds.path != ":memory:":
            wait_for_build_file(Path(creds.path))
