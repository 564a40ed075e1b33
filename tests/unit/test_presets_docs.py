"""docs/presets.md cannot drift: every sample it shows is the start of a file under
examples/exports/, every `voronka.yaml` block it gives loads, and `voronka check` on the
sample with that block prints exactly what the page says. The page's presets table and
column lines are the registry's; every preset has a section; README links the page from
its first screen."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pipeline.cli import EXIT_FAILED, EXIT_OK, main
from pipeline.paths import REPO_ROOT
from pipeline.sources import registry
from pipeline.sources.text import decode

DOC = REPO_ROOT / "docs" / "presets.md"
EXPORTS = REPO_ROOT / "examples" / "exports"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
SAMPLE_LINE = re.compile(r"`(examples/exports/[^`]+)`")
CHECK_LINE = re.compile(r"^`voronka check (\S+)`:$")


@dataclass(frozen=True)
class Check:
    file: str  # as typed after `voronka check` (relative to the inbox)
    config: str  # the yaml block above it
    output: str


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(the last non-empty line before the fence, language, body) of every fenced block."""
    found = []
    for match in FENCE.finditer(text):
        before = [line for line in text[: match.start()].splitlines() if line.strip()]
        found.append((before[-1] if before else "", match.group(1), match.group(2)))
    return found


def page() -> tuple[list[tuple[str, str]], list[str], list[Check]]:
    """The page's samples (path, shown text), yaml blocks and check outputs."""
    samples, configs, checks = [], [], []
    for lead, language, body in blocks(DOC.read_text(encoding="utf-8")):
        if language == "yaml":
            configs.append(body)
        elif (check := CHECK_LINE.match(lead)) is not None:
            checks.append(Check(check.group(1), configs[-1], body))
        elif (sample := SAMPLE_LINE.search(lead)) is not None:
            samples.append((sample.group(1), body))
    return samples, configs, checks


SAMPLES, CONFIGS, CHECKS = page()


def write_config(block: str, folder: Path) -> Path:
    """The page's sources block, with the inbox at examples/exports and one funnel."""
    sources = yaml.safe_load(block)["sources"]
    crm = [s["name"] for s in sources if s["kind"] == "crm"]
    calls = [s["name"] for s in sources if s["kind"] == "calls"]
    name = {"ru": "F", "en": "F"}
    if crm:
        funnel = {"crm": [{"source": crm[0]}], "stages": [
            {"key": "a", "name": name, "crm_stages": ["a"]},
            {"key": "won", "name": name, "crm_status": "won"},
        ]}  # fmt: skip
    else:
        funnel = {"calls": {"source": calls[0]}, "stages": [
            {"key": "a", "name": name, "calls": {"direction": "inbound"}},
            {"key": "b", "name": name, "calls": {"answered": True}},
        ]}  # fmt: skip
    doc = {
        "timezone": "Europe/Moscow",
        "paths": {
            "inbox": str(EXPORTS),
            "landing": str(folder / "landing"),
            "warehouse": str(folder / "warehouse.duckdb"),
            "reports": str(folder / "reports"),
        },
        "managers": [{"name": "Смирнова Анна", "aliases": ["ext:101", "Anna Smirnova"]}],
        "sources": sources,
        "funnels": [{"id": "f", "name": name, **funnel}],
    }
    path = folder / "voronka.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_check(check: Check, folder: Path) -> tuple[int, str]:
    """`voronka check FILE --config …` run in an empty folder (FILE is found in the inbox)."""
    config = write_config(check.config, folder)
    out = io.StringIO()
    with contextlib.chdir(folder), contextlib.redirect_stdout(out):
        code = main(["check", check.file, "--config", str(config)])
    return code, out.getvalue()


def test_the_page_has_samples_configs_and_checks() -> None:
    assert len(SAMPLES) >= len(registry.PRESETS)
    assert len(CHECKS) >= len(SAMPLES)


@pytest.mark.parametrize(("path", "shown"), SAMPLES, ids=[path for path, _ in SAMPLES])
def test_every_sample_shown_is_the_start_of_its_file(path, shown) -> None:
    text, _ = decode((REPO_ROOT / path).read_bytes())
    lines = shown.splitlines()
    assert text.splitlines()[: len(lines)] == lines


def test_every_example_export_is_on_the_page() -> None:
    files = {p.relative_to(REPO_ROOT).as_posix() for p in EXPORTS.rglob("*") if p.is_file()}
    assert files == {path for path, _ in SAMPLES}
    assert {f"examples/exports/{check.file}" for check in CHECKS} == files


@pytest.mark.parametrize("check", CHECKS, ids=[check.file for check in CHECKS])
def test_check_prints_what_the_page_says(tmp_path, check) -> None:
    code, printed = run_check(check, tmp_path)
    assert printed == check.output
    assert code == (EXIT_OK if "verdict:    OK" in check.output else EXIT_FAILED)


def test_every_preset_has_a_config_block_on_the_page() -> None:
    configured = {
        (source["kind"], source["preset"])
        for block in CONFIGS
        for source in yaml.safe_load(block)["sources"]
    }
    assert configured == {(preset.kind, preset.name) for preset in registry.PRESETS}


def test_the_presets_table_and_columns_are_the_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = re.search(r"^\| kind \| preset \|.*?\n(?!\|)", text, re.M | re.S)
    assert table is not None and table.group(0).rstrip("\n") == registry.presets_table()
    for preset in registry.PRESETS:
        assert registry.columns_line(preset) in text, (preset.kind, preset.name)


def test_readme_links_the_page_from_its_first_screen() -> None:
    first_screen = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:40]
    assert any("docs/presets.md" in line for line in first_screen)
