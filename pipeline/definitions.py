"""Dagster code location: loads pipeline/defs; nothing else. The config comes from
$VORONKA_CONFIG (default ./voronka.yaml), read when Dagster loads the location."""

import dagster as dg

from pipeline.defs import definitions_from_environment


@dg.definitions
def defs() -> dg.Definitions:
    return definitions_from_environment()
