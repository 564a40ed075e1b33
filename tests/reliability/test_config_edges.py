"""Issue 14 item 9 and the config items of "Partly holding": a huge config is refused
before it is parsed; a key given twice is an error naming both lines (YAML keeps the last
one silently); reference mistakes name the key that refers, with its line; paths stay in
the config's folder unless given as absolute paths."""

from __future__ import annotations

import time

import pytest

from pipeline.config import MAX_CONFIG_BYTES, ConfigError, load_config

BASE = """\
timezone: Europe/Moscow
paths: {inbox: inbox, landing: landing, warehouse: w.duckdb, reports: reports}
sources:
  - {name: crm, kind: crm, preset: generic, files: "crm/*.csv"}
  - name: history
    kind: crm_history
    preset: generic
    history_of: crm
    files: "crm/history*.csv"
  - {name: pbx, kind: calls, preset: asterisk, files: "pbx/*.csv"}
funnels:
  - id: f
    name: {ru: F, en: F}
    crm: [{source: crm}]
    calls: {source: pbx}
    stages:
      - {key: a, name: {ru: A, en: A}, calls: {direction: inbound}}
      - {key: b, name: {ru: B, en: B}, crm_status: won}
"""


def write(tmp_path, text: str):
    path = tmp_path / "voronka.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_base_config_loads(tmp_path) -> None:
    assert load_config(write(tmp_path, BASE)).inbox_dir == tmp_path / "inbox"


def test_a_config_over_the_size_cap_is_refused_before_parsing(tmp_path) -> None:
    padding = "# " + "x" * 78 + "\n"
    path = write(tmp_path, BASE + padding * (MAX_CONFIG_BYTES // len(padding) + 1))
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"voronka\.yaml: the config is .* larger than"):
        load_config(path)
    assert time.monotonic() - started < 1


def test_a_top_level_key_given_twice_names_both_lines(tmp_path) -> None:
    path = write(tmp_path, BASE + "timezone: Europe/Berlin\n")
    with pytest.raises(ConfigError, match=r"line 19: key 'timezone' is given twice.*line 1"):
        load_config(path)


def test_a_nested_key_given_twice_names_its_line(tmp_path) -> None:
    text = BASE.replace("    history_of: crm\n", "    history_of: crm\n    history_of: pbx\n")
    with pytest.raises(ConfigError, match=r"line 9: key 'history_of' is given twice.*line 8"):
        load_config(write(tmp_path, text))


def test_an_unknown_history_of_names_the_key_and_its_line(tmp_path) -> None:
    text = BASE.replace("history_of: crm", "history_of: nope")
    with pytest.raises(ConfigError, match=r"sources\.1\.history_of \(line 8\): .*'nope'"):
        load_config(write(tmp_path, text))


def test_an_unknown_funnel_crm_source_names_the_key_and_its_line(tmp_path) -> None:
    text = BASE.replace("crm: [{source: crm}]", "crm: [{source: amo}]")
    with pytest.raises(ConfigError, match=r"funnels\.0\.crm\.0\.source \(line 14\): .*'amo'"):
        load_config(write(tmp_path, text))


def test_a_funnel_calls_source_of_another_kind_names_the_key_and_its_line(tmp_path) -> None:
    text = BASE.replace("calls: {source: pbx}", "calls: {source: crm}")
    with pytest.raises(ConfigError, match=r"funnels\.0\.calls\.source \(line 15\): .*'crm'"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("key", ["inbox", "landing", "warehouse", "reports"])
def test_a_relative_path_out_of_the_config_folder_is_refused(tmp_path, key) -> None:
    text = BASE.replace(f"{key}: ", f"{key}: ../../../../etc/", 1)
    with pytest.raises(ConfigError, match=rf"paths\.{key} \(line 2\): .*outside the config"):
        load_config(write(tmp_path, text))


def test_failures_dir_out_of_the_config_folder_is_refused(tmp_path) -> None:
    text = BASE + "delivery: {failures_dir: ../failures}\n"
    with pytest.raises(ConfigError, match=r"delivery\.failures_dir \(line 19\)"):
        load_config(write(tmp_path, text))


def test_an_absolute_path_is_taken_on_purpose(tmp_path) -> None:
    elsewhere = tmp_path.parent / "shared-inbox"
    text = BASE.replace("inbox: inbox", f"inbox: {elsewhere}")
    assert load_config(write(tmp_path, text)).inbox_dir == elsewhere


def test_a_relative_path_that_stays_inside_is_fine(tmp_path) -> None:
    text = BASE.replace("inbox: inbox", "inbox: data/../inbox")
    assert load_config(write(tmp_path, text)).inbox_dir == tmp_path / "inbox"
