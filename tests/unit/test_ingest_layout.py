"""The ingest path's shape (issue 17 item 1): every preset's reader yields batches (a file
read whole is one), ingest names no preset, and no module of ingest, sources or transform
grows past 500 lines."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pipeline.config import Source
from pipeline.paths import REPO_ROOT
from pipeline.sources import Export, RawFile, read_batches, registry

AREA = ("pipeline/ingest", "pipeline/sources", "pipeline/transform")
MAX_LINES = 500


def _source(preset: registry.Preset) -> Source:
    history = {"history_of": "crm"} if preset.kind == "crm_history" else {}
    return Source.model_validate(
        {"name": "s", "kind": preset.kind, "preset": preset.name, "files": "*", **history}
    )


@pytest.mark.parametrize("preset", registry.PRESETS, ids=lambda p: f"{p.kind}-{p.name}")
def test_every_reader_yields_batches_and_an_empty_file_is_one_empty_batch(preset):
    batches = read_batches(Export("s/empty.csv", data=b""), _source(preset))
    assert isinstance(batches, Iterator)
    [batch] = list(batches)
    assert isinstance(batch, RawFile) and batch.rows_total == 0


def test_ingest_names_no_preset():
    names = sorted({preset.name for preset in registry.PRESETS})
    found = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in sorted((REPO_ROOT / "pipeline/ingest").glob("*.py"))
        for name in names
        if re.search(rf"\b{name}\b", path.read_text(encoding="utf-8"))
    ]
    assert found == [], "ingest reads every preset through its reader (sources.registry)"


def test_no_module_of_the_ingest_path_is_over_500_lines():
    long = {}
    for folder in AREA:
        for path in sorted((REPO_ROOT / folder).glob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                long[str(path.relative_to(REPO_ROOT))] = lines
    assert long == {}
