"""The Voronka config as a Dagster resource: assets load it at run time, not import time."""

import dagster as dg

from pipeline.config import Config, load_config


class VoronkaConfig(dg.ConfigurableResource):
    """Path to voronka.yaml; paths inside it are relative to the file."""

    config_path: str

    def load(self) -> Config:
        return load_config(self.config_path)
