"""Voronka's benchmark: scaled demo exports, each pipeline stage timed, baselines beside it."""
