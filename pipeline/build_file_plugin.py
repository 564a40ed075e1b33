"""dbt-duckdb plugin (dbt_project/profiles.yml): where dbt opens the warehouse file and
spills, and when.

- Where: the profile names the file (`path`, VORONKA_DBT_PATH) and the spill folder
  (`temp_directory`, VORONKA_DUCKDB_TEMP_DIR); the pipeline gives both relative to the
  build file's folder, VORONKA_DBT_FOLDER, which only this plugin reads. dbt keeps its
  parse state only while the profile stays the same, so a profile without any site's
  folder in it lets every site's builds on a machine share one parse state
  (docs/performance.md, "dbt's parse"). Without VORONKA_DBT_FOLDER (a `dbt` run by hand)
  a relative path is dbt's working folder's, dbt_project/.
- When: only once the file is whole, when the build copies it beside dbt's start
  (pipeline/build_file.py).
"""

from __future__ import annotations

from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin

from pipeline.build_file import in_build_folder, wait_for_build_file


class Plugin(BasePlugin):
    def update_connection_config(self, creds, config) -> None:
        """Called by dbt-duckdb right before it opens the database file (`config`: the
        options it opens it with)."""
        if config.get("temp_directory"):
            config["temp_directory"] = in_build_folder(config["temp_directory"])
        if creds.path and creds.path != ":memory:":
            creds.path = in_build_folder(creds.path)
            wait_for_build_file(Path(creds.path))
