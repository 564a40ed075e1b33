"""Issue 14, "partly holding": raw phones stay in landing, and what must not go unnoticed
is said in plain words.

- `voronka check` printed rejected rows with the client's phone in clear: printed rejects
  now mask every digit of a phone but the last two.
- The demo's phone hash key lets anyone with the project match the marts' phone hashes
  back to numbers: `check`, `ingest` and `run` warn loudly while it (or no key) is in use,
  and so does the PDF's appendix (the only place a Dagster run shows it).
- A funnel stage mapped to a CRM stage name that never appears counted nothing, and only
  the PDF appendix showed it: `run` names the funnel, the stage and the CRM stage."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.reporting import report_models, template_context
from pipeline.reporting.render import render_html
from tests.reliability.inbox_cases import FUNNEL, deal, deals_file, make_project, put
from tests.unit.test_report_pdf import CONFIG_YAML, MONTH, build_warehouse

WARNING = "WARNING: phone numbers are hashed with the demo key"


def voronka(config, *command: str) -> tuple[int, str]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main([*command, "--config", str(config.config_file)])
    return code, output.getvalue()


def test_check_masks_phones_in_the_rejected_rows_it_prints(tmp_path) -> None:
    config = make_project(tmp_path)
    path = put(config, "crm/deals_2025-03-01.csv", deals_file(deal(1), deal(2, "32.02.2025")))
    code, output = voronka(config, "check", str(path))
    assert code == 0, output
    assert "'32.02.2025' is not a date/time" in output
    assert "+79160000002" not in output and "9160000002" not in output
    assert "+•••••••••02" in output
    assert WARNING not in output  # a key of the project's own


def test_the_demo_hash_key_is_warned_about_on_check_ingest_and_run(tmp_path) -> None:
    config = make_project(tmp_path, hash_key="demo-only-key-change-me")
    path = put(config, "crm/deals_2025-03-01.csv", deals_file(deal(1)))
    for command in (["check", str(path)], ["ingest"], ["run", "--month", "2025-02"]):
        code, output = voronka(config, *command)
        assert code == 0 and WARNING in output, output
    assert "VORONKA_PHONE_HASH_KEY" in output


def test_run_names_a_mapped_crm_stage_the_data_never_shows(tmp_path) -> None:
    funnel = FUNNEL.replace('crm_stages: [{name: "New"}]', 'crm_stages: [{name: "New"}, "Nwe"]')
    config = make_project(tmp_path, funnel=funnel)
    rows = [deal(n, f"{n:02d}.02.2025 10:00") for n in range(1, 21)]
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    code, output = voronka(config, "run", "--month", "2025-02")
    assert code == 0, output
    expected = "Warning: funnel 'sales', stage 'lead': CRM stage 'Nwe' never appears in the data"
    assert expected in output
    assert "CRM stage 'New'" not in output
    assert "Warning: funnel 'sales', segment" not in output  # no segment of a column


def test_run_names_a_segment_column_no_deal_has(tmp_path) -> None:
    """A segment of a column the exports do not have counted every deal under (unknown),
    and nothing said so."""
    segment = "    segments: [manager, {type: city, column: cty, name: {ru: Город, en: City}}]\n"
    config = make_project(
        tmp_path, funnel=FUNNEL.replace("    window_days: 30\n", "    window_days: 30\n" + segment)
    )
    rows = [deal(n, f"{n:02d}.02.2025 10:00") for n in range(1, 21)]
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    code, output = voronka(config, "run", "--month", "2025-02")
    assert code == 0, output
    assert (
        "Warning: funnel 'sales', segment 'city': no deal has a value in column 'cty', so every "
        "deal counts under (unknown)"
    ) in output


APPENDIX_WARNING = {
    "en": "phone numbers are hashed with the demo key",
    "ru": "номера телефонов хешируются демонстрационным ключом",
}


@pytest.mark.parametrize(
    ("privacy", "warned"),
    [
        ("{phone_hash_key: demo-only-key-change-me}", True),
        ("{}", True),
        ("{phone_hash_key: own}", False),
    ],
    ids=["demo key", "no key", "own key"],
)
def test_the_pdf_appendix_warns_while_the_demo_hash_key_is_in_use(
    tmp_path, monkeypatch, privacy, warned
) -> None:
    monkeypatch.delenv("VORONKA_PHONE_HASH_KEY", raising=False)
    text = re.sub(r"(?m)^privacy:.*\n", "", CONFIG_YAML) + f"privacy: {privacy}\n"
    (tmp_path / "voronka.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "voronka.yaml")
    build_warehouse(config.warehouse_path)
    models = report_models(config, MONTH)
    for funnel in config.funnels:
        for locale in config.locales:
            html = render_html(template_context(models[funnel.id], funnel, locale), locale)
            appendix = html.split('<section class="appendix">', 1)[1]
            text = re.sub(r"\s+", " ", appendix)
            assert (APPENDIX_WARNING[locale] in text) is warned, (funnel.id, locale)
