"""Reading voronka.yaml: the size cap, UTF-8, YAML without a key given twice, and every
validation mistake reported with its key path and the line it stands on."""

from __future__ import annotations

import contextlib
import difflib
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.config.base import ConfigError, Mistakes
from pipeline.config.settings import Config

# A real config is a few kilobytes; a huge one would cost every command minutes and GBs.
MAX_CONFIG_BYTES = 1024 * 1024


class _DuplicateKey(yaml.YAMLError):
    """A key given twice in one mapping."""


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping: YAML keeps the last one
    silently, and a config that says two things means one of them was a mistake."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` overrides on purpose
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            with contextlib.suppress(TypeError):  # an unhashable key: SafeLoader says so
                if key in first_line:
                    raise _DuplicateKey(
                        f"line {line}: key {key!r} is given twice in one mapping (first on "
                        f"line {first_line[key]}); YAML would keep only the last: remove one"
                    )
                first_line[key] = line
        return super().construct_mapping(node, deep)


def _read_capped(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)  # never more, whatever the file is
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config ({error})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: the config is {path.stat().st_size:,} bytes, larger than "
            f"{MAX_CONFIG_BYTES:,} bytes; a config holds settings, not data"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: config must be UTF-8 ({error})") from None


def _parse(text: str) -> tuple[object, yaml.Node | None]:
    """The data and the node tree (for line numbers), from one parse."""
    loader = _ConfigLoader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    finally:
        loader.dispose()


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError naming key and line."""
    path = Path(path)
    text = _read_capped(path)
    try:
        data, root = _parse(text)
    except _DuplicateKey as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for internal in ("base_dir", "config_file"):
        if internal in data:
            raise ConfigError(f"{path}: {internal!r} is not a config key")
    try:
        return Config(**data, base_dir=path.resolve().parent, config_file=path.resolve())
    except ValidationError as error:
        raise ConfigError(_describe(path, error, root)) from None


def _describe(path: Path, error: ValidationError, root: yaml.Node | None) -> str:
    found: list[tuple[list, str]] = []
    for item in error.errors():
        loc = [part for part in item["loc"] if not _is_union_tag(part)]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, Mistakes):
            found += [([*loc, *where], message) for where, message in cause.mistakes]
        elif item["type"] == "extra_forbidden":
            found.append((loc, _unknown_key(loc)))
        else:
            found.append((loc, item["msg"].removeprefix("Value error, ")))
    lines = [f"{path}: {len(found)} mistake(s) in the config:"]
    for loc, message in found:
        key = ".".join(str(part) for part in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f" (line {line})" if line else ""
        lines.append(f"  - {key}{where}: {message}")
    return "\n".join(lines)


def _unknown_key(loc: list) -> str:
    """A key no setting has at its place (misspelled, or under another parent): the keys
    that place takes, and the nearest one."""
    models: list[type[BaseModel]] = [Config]
    for part in loc[:-1]:
        if isinstance(part, str):
            fields = [m.model_fields[part] for m in models if part in m.model_fields]
            models = [m for f in fields for m in _models_in(f.annotation)]
    keys = [k for m in models for k in m.model_fields if k not in ("base_dir", "config_file")]
    keys = list(dict.fromkeys(keys))
    if not keys:
        return "unknown key"
    near = difflib.get_close_matches(str(loc[-1]), keys, n=1)
    return (
        "unknown key"
        + (f" (did you mean {near[0]!r}?)" if near else "")
        + f"; the keys here: {', '.join(keys)}"
    )


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The config models a field holds (`Source` of `list[Source]`, of `X | None`, …)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and (part.startswith("literal[") or part in ("CustomSegment",))


def _line_of(node: yaml.Node | None, loc: list) -> int | None:
    """The 1-based line of the deepest YAML node the error location reaches (of its key,
    in a mapping: a block of values starts on the line after it)."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        found = None
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            found = (node.value[part], node.value[part])
        if found is None:
            break
        node, best = found[1], found[0].start_mark.line + 1
    return best
