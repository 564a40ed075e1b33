"""Voronka: sales-funnel analytics pipeline."""
