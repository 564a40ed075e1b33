"""Unknown and misplaced keys: a key put into any mapping of voronka.yaml where no setting
has it (misspelled, or under another parent) stops every command with exit 2, naming the
key's path and line, the keys that place takes and the nearest one. (Keys a source's preset
would ignore: test_config_keys.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.cli import EXIT_USAGE, main
from pipeline.config import load_config

NAME = {"ru": "Имя", "en": "Name"}
# Every section and every nested mapping the config has, each with some of its keys.
FULL = {
    "timezone": "Europe/Moscow",
    "paths": {"inbox": "inbox", "landing": "landing"},
    "quality": {"max_reject_ratio": 0.05},
    "calls": {"conversation_min_s": 30},
    "privacy": {"phone_hash_key": "k"},
    "managers": [{"name": "Смирнова Анна", "aliases": ["ext:101"]}],
    "sources": [
        {
            "name": "leads", "kind": "crm", "preset": "generic", "files": "leads/*.csv",
            "columns": {"deal_id": "ID", "created_at": "Opened", "amount": "Sum"},
            "stage": {"value": "new"},
            "status": {"won": ["Won"]},
            "formats": {"decimal": "."},
        },
        {"name": "pbx", "kind": "calls", "preset": "asterisk", "files": "pbx/*.csv"},
    ],
    "funnels": [
        {
            "id": "f", "name": NAME,
            "crm": [{"source": "leads"}],
            "calls": {"source": "pbx", "lines": ["+74950000000"]},
            "segments": ["manager", {"type": "city", "column": "city", "name": NAME}],
            "plan": {"target": 5},
            "recipients": [{"email": "a@example.com"}],
            "stages": [
                {"key": "call", "name": NAME, "calls": {"direction": "inbound", "answered": True}},
                {"key": "new", "name": NAME, "crm_stages": [{"name": "new"}]},
            ],
        }
    ],
    "schedule": {"day": 2},
    "delivery": {"operators": ["ops@example.com"]},
}  # fmt: skip


def mappings(node: object, path: tuple = ()) -> list[tuple]:
    """The key path of every mapping in the document, the top level included (a mapping
    of `columns:` or `stage_dates:` takes any key, so it is left out)."""
    if isinstance(node, list):
        return [found for i, item in enumerate(node) for found in mappings(item, (*path, i))]
    if not isinstance(node, dict) or path[-1:] == ("columns",):
        return []
    return [path] + [
        found for key, value in node.items() for found in mappings(value, (*path, key))
    ]


def with_key(path: tuple, key: str, value: object) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(FULL))  # a deep copy
    node = doc
    for part in path:
        node = node[part]
    node[key] = value
    return doc


def dump(doc: dict) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=False)


def line_of(doc: dict) -> int:
    """The line the one key `probe_key` of the document stands on."""
    return next(n for n, text in enumerate(dump(doc).splitlines(), 1) if "probe_key:" in text)


def run_check(tmp_path: Path, doc: dict, capsys) -> tuple[int, str]:
    config = tmp_path / "voronka.yaml"
    config.write_text(dump(doc), encoding="utf-8")
    code = main(["check", "leads/x.csv", "--config", str(config)])
    return code, capsys.readouterr().err


def test_the_full_config_loads(tmp_path) -> None:
    (tmp_path / "voronka.yaml").write_text(dump(FULL), encoding="utf-8")
    assert load_config(tmp_path / "voronka.yaml").funnel("f").segment_types == ["manager", "city"]


CASES = mappings(FULL)


@pytest.mark.parametrize("path", CASES, ids=[".".join(map(str, p)) or "top" for p in CASES])
def test_an_unknown_key_in_any_mapping_exits_2_naming_it_and_the_keys_there(
    tmp_path, capsys, path
) -> None:
    code, err = run_check(tmp_path, with_key(path, "bogus_key", 1), capsys)
    line = line_of(with_key(path, "probe_key", 1))
    where = ".".join(str(part) for part in (*path, "bogus_key"))
    assert code == EXIT_USAGE
    assert f"  - {where} (line {line}): unknown key; the keys here: " in err, err
    listed = err.split("the keys here: ")[1].split("\n")[0].split(", ")
    node = with_key(path, "x", 0)
    for part in path:
        node = node[part]
    assert set(node) - {"x"} <= set(listed), (sorted(node), listed)  # the keys given there


@pytest.mark.parametrize(
    ("path", "key", "where", "near"),
    [
        (("sources", 0), "colums", "sources.0.colums", "columns"),
        (("funnels", 0), "window", "funnels.0.window", "window_days"),
        (("funnels", 0, "stages", 0, "calls"), "answerd", "funnels.0.stages.0.calls.answerd",
         "answered"),
    ],
)  # fmt: skip
def test_a_misspelled_key_names_the_nearest_one(tmp_path, capsys, path, key, where, near):
    code, err = run_check(tmp_path, with_key(path, key, 1), capsys)
    assert code == EXIT_USAGE
    assert f"{where} (line " in err and f"unknown key (did you mean {near!r}?)" in err, err


@pytest.mark.parametrize(
    ("path", "key", "value"),
    [
        (("funnels", 0), "stage_dates", {"won": "Signed"}),  # a source's key in a funnel
        (("sources", 0), "pipeline", "P"),  # a funnel's crm key in a source
        (("funnels", 0, "calls"), "own_lines", ["+74950000000"]),  # a source's key
        ((), "columns", {"deal_id": "ID"}),  # a source's key at the top level
    ],
)
def test_a_key_under_the_wrong_parent_exits_2_naming_it(tmp_path, capsys, path, key, value):
    code, err = run_check(tmp_path, with_key(path, key, value), capsys)
    line = line_of(with_key(path, "probe_key", value))
    where = ".".join(str(part) for part in (*path, key))
    assert code == EXIT_USAGE
    assert f"  - {where} (line {line}): unknown key" in err, err
