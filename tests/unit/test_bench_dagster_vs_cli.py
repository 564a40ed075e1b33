"""The Dagster-vs-CLI bench's sites (bench/dagster_vs_cli.py): each run gets its own copy of
the config and a fresh inbox of the given exports, hard-linked (not copied: the full-scale
exports are 3.3 GB), with nothing but the exports in it."""

from __future__ import annotations

from bench.dagster_vs_cli import fresh_site
from pipeline.config import load_config
from tests.helpers import copy_demo_config


def test_a_site_gets_the_config_and_hard_links_to_the_exports(tmp_path):
    template = copy_demo_config(tmp_path / "template").base_dir / "voronka.yaml"
    exports = tmp_path / "exports"
    (exports / "pbx").mkdir(parents=True)
    (exports / "pbx" / "Master.csv").write_text("calls\n", encoding="utf-8")
    (exports / "crm").mkdir()
    (exports / "crm" / "deals_2026-11-01.csv").write_text("deals\n", encoding="utf-8")
    (exports / "bench_manifest.json").write_text("{}", encoding="utf-8")

    for name in ("cli", "dagster"):
        path = fresh_site(tmp_path / "work", name, template, exports)
        assert path == tmp_path / "work" / name / "voronka.yaml"
        assert path.read_bytes() == template.read_bytes()
        inbox = load_config(path).inbox_dir
        assert inbox.is_relative_to(path.parent)
        found = sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())
        assert found == ["crm/deals_2026-11-01.csv", "pbx/Master.csv"]
        linked = inbox / "pbx" / "Master.csv"
        assert linked.stat().st_ino == (exports / "pbx" / "Master.csv").stat().st_ino


def test_a_site_starts_from_a_fresh_inbox(tmp_path):
    template = copy_demo_config(tmp_path / "template").base_dir / "voronka.yaml"
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a.csv").write_text("a\n", encoding="utf-8")
    path = fresh_site(tmp_path / "work", "cli", template, exports)
    leftover = load_config(path).inbox_dir / "left_by_the_last_run.csv"
    leftover.write_text("x\n", encoding="utf-8")
    path = fresh_site(tmp_path / "work", "cli", template, exports)
    assert not leftover.exists() and (load_config(path).inbox_dir / "a.csv").exists()


def test_without_exports_a_site_gets_the_demo_exports(tmp_path, monkeypatch):
    import pipeline.demo

    written = []
    monkeypatch.setattr(  # the demo's 23 MB of exports: where they go is what counts here
        pipeline.demo, "write_demo_exports", lambda inbox, expected: written.append(inbox)
    )
    template = copy_demo_config(tmp_path / "template").base_dir / "voronka.yaml"
    path = fresh_site(tmp_path / "work", "cli", template, None)
    assert written == [load_config(path).inbox_dir]
