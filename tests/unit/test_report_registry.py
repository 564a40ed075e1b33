"""The section registry: every mart a section reads is read from the warehouse, every
template exists, and the Dagster report asset waits for exactly those marts."""

from __future__ import annotations

from pipeline.defs.reports import REPORT_INPUTS
from pipeline.paths import TEMPLATES_DIR
from pipeline.reporting.registry import REPORT_MARTS, SECTIONS
from pipeline.reporting.warehouse import MARTS_READ


def test_the_report_reads_every_mart_its_sections_declare_and_no_other():
    assert sorted(REPORT_MARTS) == sorted(MARTS_READ)


def test_the_report_asset_waits_for_the_registry_marts():
    assert sorted(key.path for key in REPORT_INPUTS) == sorted(["marts", m] for m in REPORT_MARTS)


def test_every_section_has_its_template_and_a_key_of_its_own():
    assert all((TEMPLATES_DIR / spec.template).is_file() for spec in SECTIONS)
    assert len({spec.key for spec in SECTIONS}) == len(SECTIONS)
