"""The Voronka config as a Dagster resource: assets load it at run time, not import time."""

from functools import lru_cache

import dagster as dg

from pipeline import io
from pipeline.config import Config, load_config


class VoronkaConfig(dg.ConfigurableResource):
    """Path to voronka.yaml; paths inside it are relative to the file."""

    config_path: str

    def load(self) -> Config:
        """The config as the file says now: read once per version of the file in this
        process (a run's steps and checks all ask; Config is frozen)."""
        version = io.file_version(self.config_path)
        if version is None:
            return load_config(self.config_path)  # says what is wrong with the path
        return _load(self.config_path, version)


@lru_cache(maxsize=8)
def _load(path: str, _version: tuple[int, int, int]) -> Config:
    return load_config(path)
