"""Exit codes: 0 ok, 1 run failed, 2 bad usage or config."""

import pytest

from pipeline.cli import COMMANDS, EXIT_USAGE, build_parser, main


def test_missing_config_exits_2(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "absent.yaml")]) == EXIT_USAGE
    assert "config file not found" in capsys.readouterr().err


@pytest.mark.parametrize("month", ["2026-13", "0000-01", "２０２６-10", "2026-10-01", ""])
def test_bad_month_exits_2(tmp_path, capsys, month):
    """Year 0 passed the command line and failed in the report (exit 1, a failure record);
    full-width digits read as a month."""
    from pipeline.paths import REPO_ROOT

    config = str(REPO_ROOT / "voronka.yaml")
    assert main(["report", "--config", config, "--month", month]) == EXIT_USAGE
    assert "--month must look like 2026-10" in capsys.readouterr().err


def test_check_of_a_missing_file_exits_2(tmp_path, capsys):
    from pipeline.paths import REPO_ROOT

    assert (
        main(["check", str(tmp_path / "nope.csv"), "--config", str(REPO_ROOT / "voronka.yaml")])
        == EXIT_USAGE
    )
    assert "no such file" in capsys.readouterr().err


def test_plan_with_unknown_funnel_exits_2(capsys):
    from pipeline.paths import REPO_ROOT

    code = main(
        ["plan", "--config", str(REPO_ROOT / "voronka.yaml"), "--funnel", "nope", "--target", "5"]
    )
    assert code == EXIT_USAGE
    assert (
        "unknown funnel 'nope'; configured funnels: doors, b2b, key_accounts"
        in capsys.readouterr().err
    )


def test_the_config_defaults_to_voronka_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VORONKA_CONFIG", str(tmp_path / "from-env.yaml"))
    assert main(["run"]) == EXIT_USAGE
    assert "from-env.yaml: config file not found" in capsys.readouterr().err
    monkeypatch.delenv("VORONKA_CONFIG")
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == EXIT_USAGE
    assert "voronka.yaml: config file not found" in capsys.readouterr().err


def test_the_command_list_prints_each_commands_help_as_written():
    usage = " ".join(build_parser().format_help().split())
    assert "forecast deals to be won in the cutoff's month, 80 % range, backtest" in usage
    for name, (_, help_text) in COMMANDS.items():
        assert f"{name} {' '.join(help_text.split())}" in usage
    assert "option_strings" not in usage
