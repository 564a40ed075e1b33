"""voronka.yaml is validated at the edge: each mistake names its key and line."""

from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config
from pipeline.paths import REPO_ROOT

MINIMAL = """\
sources:
  - {name: crm, kind: crm, preset: generic, files: "*.csv", columns: {deal_id: ID}}
funnels:
  - id: f
    name: {ru: Ф, en: F}
    crm: [{source: crm, pipeline: P}]
    stages:
      - {key: a, name: {ru: А, en: A}, crm_stages: [{name: A}]}
      - {key: won, name: {ru: Б, en: B}, crm_status: won}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "voronka.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_config_is_valid():
    config = load_config(REPO_ROOT / "voronka.yaml")
    assert [funnel.id for funnel in config.funnels] == ["doors", "b2b", "key_accounts"]
    assert config.funnel("doors").segment_types == ["manager", "lead_source", "city"]


def test_paths_are_relative_to_the_config_file(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.warehouse_path == tmp_path / "data" / "warehouse.duckdb"
    assert config.inbox_dir == tmp_path / "data" / "inbox"


def test_unknown_preset_names_the_key_and_line(tmp_path):
    text = MINIMAL.replace("preset: generic", "preset: nosuchcrm")
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert "sources.0.preset (line 2)" in str(error.value)
    assert "preset 'nosuchcrm' is not available for kind 'crm'" in str(error.value)


def test_stage_with_two_rules_is_refused(tmp_path):
    text = MINIMAL.replace("crm_status: won}", "crm_status: won, crm_stages: [{name: W}]}")
    with pytest.raises(ConfigError, match=r"funnels\.0\.stages\.1 \(line 9\).*exactly one of"):
        load_config(write(tmp_path, text))


def test_conversation_min_s_without_a_stage_it_sets_is_refused(tmp_path):
    """calls.conversation_min_s is the least talk time of call stages of answered calls
    without a min_talk_s of their own: with none (here no call stage at all), it changes
    nothing and stops the config, naming the key and its line; with one, it loads."""
    text = "calls:\n  conversation_min_s: 45\n" + MINIMAL
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert "calls.conversation_min_s (line 2): changes nothing" in str(error.value)
    with_calls = text.replace(
        "  - {name: crm,",
        '  - {name: pbx, kind: calls, preset: asterisk, files: "pbx/*.csv"}\n  - {name: crm,',
    ).replace(
        "    stages:\n",
        "    calls: {source: pbx}\n    stages:\n"
        "      - {key: c, name: {ru: З, en: C}, calls: {direction: inbound, answered: true}}\n",
    )
    assert load_config(write(tmp_path, with_calls)).calls.conversation_min_s == 45
    own = with_calls.replace("answered: true}", "answered: true, min_talk_s: 10}")
    with pytest.raises(ConfigError, match=r"calls\.conversation_min_s \(line 2\)"):
        load_config(write(tmp_path, own))


def test_unknown_funnel_lists_the_configured_ones(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="unknown funnel 'nope'; configured funnels: f"):
        config.funnel("nope")


def test_bad_time_zone_and_negative_window_are_both_reported(tmp_path):
    text = "timezone: Mars/Olympus\n" + MINIMAL.replace(
        "    name: {ru: Ф, en: F}\n", "    name: {ru: Ф, en: F}\n    window_days: -5\n"
    )
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    message = str(error.value)
    assert "timezone (line 1): unknown time zone 'Mars/Olympus'" in message
    assert "funnels.0.window_days (line 7)" in message


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_manager_aliases_ignore_case_and_yo(tmp_path):
    config = load_config(REPO_ROOT / "voronka.yaml")
    aliases = config.manager_aliases()
    assert aliases["кузнецов петр"] == "Кузнецов Пётр"
    assert aliases["ext:101"] == "Смирнова Анна"


def test_phone_country_reaches_every_source_of_deals_or_calls_unless_it_gives_its_own(tmp_path):
    """The config's phone_country is each deals and calls source's, unless the source
    names its own; a history source reads no phone and takes none."""
    text = "phone_country: US\n" + MINIMAL.replace(
        "sources:\n",
        "sources:\n"
        '  - {name: pbx, kind: calls, preset: asterisk, files: "pbx/*.csv", phone_country: RU}\n'
        '  - {name: hist, kind: crm_history, preset: generic, files: "h/*.csv", history_of: crm,'
        " columns: {deal_id: D, stage: S, entered_at: E}}\n",
    )
    config = load_config(write(tmp_path, text))
    assert config.phone_country == "US"
    assert {s.name: s.phone_country for s in config.sources} == {
        "pbx": "RU",
        "hist": "RU",  # the default, never read
        "crm": "US",
    }
    assert load_config(write(tmp_path, MINIMAL)).source("crm").phone_country == "RU"


def test_a_phone_country_without_a_plan_or_effect_is_refused_at_its_line(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, "phone_country: DE\n" + MINIMAL))
    assert "phone_country (line 1): Input should be 'RU', 'KZ', 'US' or 'CA'" in str(error.value)
    history = MINIMAL.replace(
        "sources:\n",
        "sources:\n"
        '  - {name: hist, kind: crm_history, preset: generic, files: "h/*.csv", history_of: crm,'
        " columns: {deal_id: D, stage: S, entered_at: E}, phone_country: US}\n",
    )
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, history))
    assert "sources.0.phone_country (line 2): phone_country has no effect" in str(error.value)


def test_every_phone_country_has_a_numbering_plan():
    from typing import get_args

    from pipeline.config.sources import PhoneCountry
    from pipeline.transform.phones import PLANS

    assert set(get_args(PhoneCountry)) == set(PLANS)


def test_a_listed_number_that_is_no_phone_is_refused_at_its_line(tmp_path):
    """A line one digit short was read as no line, i.e. every line of the source (B2B's
    outbound calls counted for the doors); a number to leave out that is none left out
    nothing. Each is refused, at its own line."""
    text = 'exclude_phones: ["+7 495 111-22-33", "hello"]\n' + MINIMAL.replace(
        "sources:\n",
        'sources:\n  - {name: pbx, kind: calls, preset: asterisk, files: "pbx/*.csv"}\n',
    ).replace(
        "    crm: [{source: crm, pipeline: P}]\n",
        "    crm: [{source: crm, pipeline: P}]\n"
        '    calls: {source: pbx, lines: ["+7 495 111-22-33", "+7495111223"]}\n',
    )
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    message = str(error.value)
    assert "exclude_phones.1 (line 1): 'hello' is not a phone number" in message
    assert "funnels.0.calls.lines.1 (line 9): '+7495111223' is not a phone number" in message
    assert "exclude_phones.0" not in message and "lines.0" not in message


def test_history_of_must_name_a_crm_source(tmp_path):
    text = MINIMAL.replace(
        "sources:\n",
        "sources:\n"
        '  - {name: pbx, kind: calls, preset: asterisk, files: "pbx/*.csv"}\n'
        '  - {name: hist, kind: crm_history, preset: generic, files: "h/*.csv", history_of: pbx,'
        " columns: {deal_id: D, stage: S, entered_at: E}}\n",
    )
    with pytest.raises(
        ConfigError, match=r"sources\.1\.history_of \(line 3\): is not a crm source"
    ):
        load_config(write(tmp_path, text))


STAGES = """\
    stages:
      - {key: a, name: {ru: А, en: A}, crm_stages: [{name: A}]}
      - {key: won, name: {ru: Б, en: B}, crm_status: won}
"""


@pytest.mark.parametrize(
    ("stages", "where", "says"),
    [
        (  # every deal reaching c would count as won
            "      - {key: a, name: {ru: А, en: A}, crm_stages: [{name: A}]}\n"
            "      - {key: won, name: {ru: Б, en: B}, crm_status: won}\n"
            "      - {key: c, name: {ru: В, en: C}, crm_stages: [{name: C}]}\n",
            "funnels.0.stages.1.crm_status (line 9)",
            "the won stage must be the funnel's last",
        ),
        (  # one entry would count for both stages
            "      - {key: a, name: {ru: А, en: A}, crm_stages: [{name: A}]}\n"
            "      - {key: b, name: {ru: Б, en: B},\n"
            "         crm_stages: [{name: A, valid_from: 2025-01-01}]}\n"
            "      - {key: won, name: {ru: В, en: C}, crm_status: won}\n",
            "funnels.0.stages.1.crm_stages.0 (line 10)",
            "CRM stage 'A' is mapped to stage 'a' already",
        ),
        (
            "      - {key: a, name: {ru: А, en: A}, crm_stages: [{name: A, valid_from: 2025-02-01,"
            " valid_to: 2025-01-31}]}\n"
            "      - {key: won, name: {ru: В, en: C}, crm_status: won}\n",
            "funnels.0.stages.0.crm_stages.0 (line 8)",
            "valid_from 2025-02-01 is after valid_to 2025-01-31",
        ),
    ],
)
def test_stages_that_would_count_wrongly_are_refused_at_their_line(tmp_path, stages, where, says):
    text = MINIMAL.replace(STAGES, "    stages:\n" + stages)
    assert text != MINIMAL
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert where in str(error.value) and says in str(error.value), str(error.value)


def test_a_renamed_crm_stage_may_map_two_stages_in_disjoint_dates(tmp_path):
    stages = (
        "    stages:\n"
        "      - {key: a, name: {ru: А, en: A}, crm_stages: [{name: A, valid_to: 2024-12-31}]}\n"
        "      - {key: b, name: {ru: Б, en: B}, crm_stages: [{name: A, valid_from: 2025-01-01}]}\n"
        "      - {key: won, name: {ru: В, en: C}, crm_status: won}\n"
    )
    assert [
        s.key
        for s in load_config(write(tmp_path, MINIMAL.replace(STAGES, stages))).funnels[0].stages
    ] == ["a", "b", "won"]


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (
            lambda t: t.replace(
                "columns: {deal_id: ID}", "columns: {deal_id: ID}, status: {won: [W], lost: [W]}"
            ),
            "sources.0.status (line 2)",
            "'W' is both won and lost",
        ),
        (
            lambda t: "quality: {min_year: 2030, max_year: 2001}\n" + t,
            "quality (line 1)",
            "min_year 2030 is after max_year 2001",
        ),
        (
            lambda t: t.replace(
                "columns: {deal_id: ID}", "columns: {deal_id: ID}, formats: {decimal: '.'}"
            ),
            "sources.0 (line 2)",
            "formats.decimal has no effect: the source's columns map no amount",
        ),
        (
            lambda t: "delivery: {smtp_port: 587, use_starttls: true}\n" + t,
            "delivery (line 1)",
            "smtp_port, use_starttls change nothing without smtp_host",
        ),
        (
            lambda t: "calls: {callback_hours: 48}\n" + t,
            "calls.callback_hours (line 1)",
            "changes nothing: it is the missed-call leaks' window",
        ),
        (
            lambda t: t.replace(
                "    crm: [{source: crm, pipeline: P}]\n",
                "    crm: [{source: crm, pipeline: P}]\n    link_days: 14\n",
            ),
            "funnels.0.link_days (line 7)",
            "changes nothing: it links calls to deals",
        ),
    ],
)
def test_contradictory_or_idle_settings_are_refused_at_their_line(tmp_path, change, where, says):
    text = change(MINIMAL)
    assert text != MINIMAL
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert where in str(error.value) and says in str(error.value), str(error.value)
