"""One preset registry: a (kind, preset) it does not declare cannot be configured — the
config error (exit 2) names the preset and lists the valid ones for the kind — and every
declared preset is what the readers, the batching and the in-file-history rule use."""

from __future__ import annotations

import pytest

from pipeline.cli import EXIT_USAGE, main
from pipeline.config import ConfigError
from pipeline.ingest.check import has_in_file_history
from pipeline.sources import registry
from tests.unit.test_config_keys import SAMPLES, write_config

NAMES = sorted({preset.name for preset in registry.PRESETS} | {"nosuch"})
UNDECLARED = [
    (kind, name) for kind in registry.KINDS for name in NAMES if not registry.find(kind, name)
]


@pytest.mark.parametrize(("kind", "name"), UNDECLARED, ids=["-".join(c) for c in UNDECLARED])
def test_a_preset_not_declared_for_the_kind_is_refused_listing_the_valid_ones(
    tmp_path, kind, name
) -> None:
    source = {"kind": kind, "preset": name}
    if kind == "crm_history":
        source["history_of"] = "crm"
    with pytest.raises(ConfigError) as error:
        write_config(tmp_path, source)
    valid = ", ".join(preset.name for preset in registry.presets_of(kind))
    line = "  preset: " + name
    number = (tmp_path / "voronka.yaml").read_text(encoding="utf-8").splitlines().index(line) + 1
    assert (
        f"sources.0.preset (line {number}): preset {name!r} is not available for kind "
        f"{kind!r}; presets for kind {kind!r}: {valid}"
    ) in str(error.value)


def test_amocrm_and_hubspot_history_point_to_what_works_instead(tmp_path) -> None:
    for name, advice in (("amocrm", "history file"), ("hubspot", "'Date entered' columns")):
        with pytest.raises(ConfigError) as error:
            write_config(tmp_path, {"kind": "crm_history", "preset": name, "history_of": "crm"})
        assert advice in str(error.value)


def test_check_with_an_unavailable_preset_exits_2_naming_it(tmp_path, capsys) -> None:
    sample = SAMPLES[("crm_history", "generic")]
    write_config(tmp_path, sample.source)
    config = tmp_path / "voronka.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("preset: generic", "preset: amocrm", 1),
        encoding="utf-8",
    )
    export = tmp_path / "history.csv"
    export.write_text(sample.text, encoding="utf-8")
    assert main(["check", str(export), "--config", str(config)]) == EXIT_USAGE
    assert "preset 'amocrm' is not available for kind 'crm_history'" in capsys.readouterr().err


def test_the_registry_decides_batching_and_in_file_history(tmp_path) -> None:
    config = write_config(tmp_path, SAMPLES[("calls", "asterisk")].source)
    pbx, crm = config.source("sample"), config.source("crm")
    assert registry.can_stream(pbx, "pbx/Master.csv")
    assert registry.can_stream(crm, "crm/deals.csv") and not registry.can_stream(crm, "a.xlsx")
    assert not has_in_file_history(crm)
    hubspot = write_config(tmp_path / "h", SAMPLES[("crm", "hubspot")].source).source("sample")
    assert has_in_file_history(hubspot) and not registry.can_stream(hubspot, "deals.csv")


def test_every_preset_expects_a_file_and_maps_columns() -> None:
    for preset in registry.PRESETS:
        assert preset.expects and preset.columns, preset.name
        assert preset.honours <= set(registry.OPTIONAL_KEYS), preset.name
