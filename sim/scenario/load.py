"""Load scenario files: TOML, ``extends`` inheritance, ``--set`` overrides, validation.

This module is the only place that reads scenario files. Every problem becomes a
:class:`ScenarioError` naming the file, the key path, the value and the rule, e.g.::

    scenarios/x.toml: finance.grants[0].end_month must be after start_month (24), got 12
"""

from __future__ import annotations

import copy
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from sim.scenario.errors import ScenarioError, explain_validation_error, short_repr
from sim.scenario.keys import split_key_path
from sim.scenario.schema import Scenario

__all__ = ["BUILTIN", "MAX_FILE_BYTES", "MAX_LINE_CHARS", "MAX_NESTING", "get_path",
           "load_scenario", "parse_override", "parse_toml", "read_input_text", "resolved_toml",
           "scenario_from_dict", "set_path", "split_key_path", "value_at"]

MAX_EXTENDS_DEPTH = 10
MAX_FILE_BYTES = 1 << 20
"""Largest scenario or sweep file read (1 MiB; the shipped ones are under 20 KiB)."""
MAX_LINE_CHARS = 4096
"""Longest line read: bounds a dotted key's segments before the TOML parser sees it."""
MAX_NESTING = 16
"""Deepest nesting of tables and lists accepted (the schema's is 4)."""
BUILTIN = "builtin:"
"""``extends = "builtin:la_hosted"`` names a shipped scenario (``scenarios/la_hosted.toml``)
from anywhere."""
SHIPPED_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
"""The shipped scenarios, beside the ``sim`` package (the project is installed editable)."""


# --------------------------------------------------------------------------- reading files


def read_input_text(path: Path, referrer: str | None = None, kind: str = "scenario") -> str:
    """The text of an input file, read within bounds.

    It must be a regular ``.toml`` file (not a folder, device, FIFO or ``/proc`` file) of at
    most :data:`MAX_FILE_BYTES`, UTF-8, with no line longer than :data:`MAX_LINE_CHARS`.

    Raises
    ------
    ScenarioError
        Naming the file and the rule (never its contents).
    """
    source = str(path)
    named = f" (named by 'extends' in {referrer})" if referrer else ""
    if path.suffix.lower() != ".toml":
        raise ScenarioError(source, "", f"is not a .toml file{named}: a {kind} file is TOML "
                            "and its name ends in .toml")
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(source, "", f"file not found{named}") from None
    except (OSError, RuntimeError, ValueError) as exc:  # ELOOP, a NUL in the path, ...
        raise ScenarioError(source, "", f"cannot be read{named}: {exc.__class__.__name__}: "
                            f"{exc.args[-1] if exc.args else exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(source, "", f"is not a regular file{named} (a folder, device or "
                            "FIFO cannot be a scenario)")
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(source, "", f"is {info.st_size:,} bytes{named}; a {kind} file may "
                            f"be at most {MAX_FILE_BYTES:,} bytes")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise ScenarioError(source, "", f"cannot be read{named}: "
                            f"{exc.strerror if isinstance(exc, OSError) else exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(source, "", f"is longer than {MAX_FILE_BYTES:,} bytes{named}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, "", f"is not UTF-8 text{named} (byte {exc.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise ScenarioError(source, "", f"line {number} is {len(line):,} characters long; "
                                f"lines may be at most {MAX_LINE_CHARS:,}")
    return text


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML ``text`` (from ``source``), nested at most :data:`MAX_NESTING` deep."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(source, "", f"is nested too deeply (at most {MAX_NESTING} levels of "
                            "tables and lists)") from None
    depth = _depth(data)
    if depth > MAX_NESTING:
        raise ScenarioError(source, "", f"is nested {depth} levels deep; at most {MAX_NESTING} "
                            "levels of tables and lists are allowed")
    return data


def _depth(data: Any) -> int:
    """How deep tables and lists nest in ``data`` (iteratively: no recursion limit)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, Mapping):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _read_toml(path: Path, referrer: str | None) -> dict[str, Any]:
    return parse_toml(read_input_text(path, referrer), str(path))


def _parent_path(path: Path, parent: str) -> Path:
    """The file an ``extends`` names: ``builtin:NAME`` is a shipped scenario, anything else a
    path relative to the extending file."""
    try:
        if parent.startswith(BUILTIN):
            name = parent[len(BUILTIN):]
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
                raise ScenarioError(str(path), "extends", f"{BUILTIN}NAME names a shipped "
                                    f"scenario (e.g. {BUILTIN}la_hosted), got {short_repr(parent)}")
            return (SHIPPED_SCENARIOS / f"{name.removesuffix('.toml')}.toml").resolve()
        return (path.parent / parent).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ScenarioError(str(path), "extends", f"is not a usable file path ({exc}), "
                            f"got {short_repr(parent)}") from None


def _layers(path: Path, referrer: str | None = None, depth: int = 0,
            chain: tuple[Path, ...] = ()) -> list[tuple[str, dict]]:
    """The file and its ``extends`` ancestors, oldest first, as (source name, data)."""
    if depth > MAX_EXTENDS_DEPTH:
        raise ScenarioError(str(path), "extends", f"chain is deeper than {MAX_EXTENDS_DEPTH} "
                            "files")
    data = _read_toml(path, referrer)
    parent = data.get("extends")
    if parent is None:
        return [(str(path), data)]
    if not isinstance(parent, str):
        raise ScenarioError(str(path), "extends", f"must be a file path (a string), got "
                            f"{short_repr(parent)}")
    here = _resolved(path)
    parent_path = _parent_path(path, parent)
    if parent_path == here:
        raise ScenarioError(str(path), "extends", "must not name the file itself")
    seen = (*chain, here)
    if parent_path in seen:
        loop = " → ".join(p.name for p in (*seen[seen.index(parent_path):], parent_path))
        raise ScenarioError(str(path), "extends", f"makes a loop ({loop})")
    return [*_layers(parent_path, str(path), depth + 1, seen), (str(path), data)]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return path.absolute()


# --------------------------------------------------------------------------- merging


def _merge(base: dict, top: Mapping, source: str, provenance: dict[str, str],
           prefix: str = "") -> None:
    """Deep-merge ``top`` into ``base``: tables merge key by key, everything else replaces."""
    for key, value in top.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value, source, provenance, path + ".")
        else:
            base[key] = copy.deepcopy(value)
            _mark(value, source, provenance, path)


def _mark(value: Any, source: str, provenance: dict[str, str], path: str) -> None:
    provenance[path] = source
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _mark(sub, source, provenance, f"{path}.{key}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _mark(sub, source, provenance, f"{path}[{i}]")


def get_path(data: Any, path: str) -> Any:
    """The value at ``path`` in nested dicts and lists (KeyError/IndexError if absent)."""
    node = data
    for part in split_key_path(path):
        if isinstance(part, int):
            if not isinstance(node, list | tuple):
                raise KeyError(path)
            node = node[part]
        else:
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(path)
            node = node[part]
    return node


def value_at(scenario: Any, path: str) -> Any:
    """The value of a validated scenario's field at a key path (``finance.grants[0].end_month``),
    as :func:`get_path` reads a scenario dictionary."""
    node: Any = scenario
    for part in split_key_path(path):
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node


def set_path(data: dict[str, Any], path: str, value: Any, *, create: bool = False) -> None:
    """Set an existing key path in nested dicts and lists, in place; with ``create``, missing
    tables on the way are made (a calibration candidate's key absent from its scenario)."""
    parts = split_key_path(path)
    node: Any = data
    for part in parts[:-1]:
        node = node[part] if isinstance(part, int) or not create else node.setdefault(part, {})
    node[parts[-1]] = value


def _split_path(path: str) -> list[str | int]:
    try:
        return split_key_path(path)
    except ValueError:
        raise ScenarioError("--set", path,
                            "is not a key path (write e.g. finance.grants[0].end_month)") from None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.path=value``; the value is read as TOML, or as a plain string if it is not."""
    if "=" not in text:
        raise ScenarioError("--set", text, "must be written KEY.PATH=VALUE")
    path, raw = (s.strip() for s in text.split("=", 1))
    if not path:
        raise ScenarioError("--set", short_repr(text), "has no key path before '='")
    if path == "extends":
        raise ScenarioError("--set", path, "cannot be overridden: a scenario's parent is read "
                            "before any --set applies; write extends in the file (or run the "
                            "parent scenario)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def _apply_override(data: dict, path: str, value: Any, provenance: dict[str, str]) -> None:
    parts = _split_path(path)
    node: Any = data
    walked = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ScenarioError("--set", path, f"indexes {walked or 'the top level'}, which "
                                    "is not a list")
            if part >= len(node):
                raise ScenarioError("--set", path, f"index {part} is out of range: {walked} has "
                                    f"{len(node)} entries")
            walked += f"[{part}]"
            if last:
                node[part] = value
            else:
                node = node[part]
            continue
        if not isinstance(node, dict):
            raise ScenarioError("--set", path, f"{walked} is not a table")
        walked = f"{walked}.{part}" if walked else part
        if last:
            node[part] = value
        else:
            node = node.setdefault(part, {} if isinstance(parts[i + 1], str) else [])
    _mark(value, "--set", provenance, walked)


# --------------------------------------------------------------------------- validation


def _source_of(path: str, provenance: Mapping[str, str], default: str) -> str:
    probe = path
    while probe:
        if probe in provenance:
            return provenance[probe]
        shorter = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
        if shorter == probe:
            break
        probe = shorter
    return default


def scenario_from_dict(data: Mapping[str, Any], source: str = "<scenario>",
                       provenance: Mapping[str, str] | None = None) -> Scenario:
    """Validate a merged scenario dictionary; errors name the file each bad key came from."""
    provenance = provenance or {}
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        path, message = explain_validation_error(exc, Scenario)
        raise ScenarioError(_source_of(path, provenance, source), path, message) from None


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Parameters
    ----------
    path : path of the TOML file.
    overrides : ``key.path=value`` strings applied after inheritance, in order.
    """
    path = Path(path)
    provenance: dict[str, str] = {}
    # Start from every default, so --set can reach values no file mentions.
    merged: dict[str, Any] = Scenario().model_dump(mode="json", exclude_none=True)
    layers = _layers(path)
    for source, data in layers:
        _merge(merged, data, source, provenance)
    # A file that does not name itself is named after its file, not after its parent.
    own_meta = layers[-1][1].get("meta")
    if isinstance(merged.get("meta", {}), dict) and not (
        isinstance(own_meta, dict) and "name" in own_meta
    ):
        merged.setdefault("meta", {})["name"] = path.stem
        provenance["meta.name"] = f"{path} (meta.name defaults to the file name)"
    # A title and the drivers describe one file's model: a child that does not give its own
    # would otherwise show its parent's (the title readable_name(name), no drivers).
    if isinstance(merged.get("meta"), dict):
        for key in ("title", "drivers"):
            if not (isinstance(own_meta, dict) and key in own_meta):
                merged["meta"].pop(key, None)
    for text in overrides:
        key, value = parse_override(text)
        _apply_override(merged, key, value, provenance)
    scenario = scenario_from_dict(merged, str(path), provenance)
    _check_la_codes(scenario, provenance, str(path))
    return scenario


def _check_la_codes(scenario: Scenario, provenance: Mapping[str, str], default: str) -> None:
    """Every LA code a reorganisation names must be one of the 153 LAs."""
    from sim.data import load_la_population

    known = {int(code) for code in load_la_population().codes}
    for i, reorganisation in enumerate(scenario.events.reorganisations):
        for j, group in enumerate(reorganisation.merges):
            unknown = [code for code in group if code not in known]
            if unknown:
                path = f"events.reorganisations[{i}].merges[{j}]"
                raise ScenarioError(_source_of(path, provenance, default), path,
                                    f"must name LAs by their 3-digit DfE code (la_reference.csv); "
                                    f"unknown code(s) {unknown}, got {list(group)}")


def resolved_toml(scenario: Scenario) -> str:
    """Every parameter after inheritance and overrides, as self-contained TOML.

    The text has no ``extends`` (every inherited value is written out), so it loads back to
    ``scenario`` with ``extends=None``; the parent it came from is noted in a comment.
    """
    data = scenario.model_dump(mode="json", exclude_none=True)
    parent = data.pop("extends", None)
    header = "# Every parameter after inheritance and overrides: this file needs no other file.\n"
    if parent is not None:
        header += f"# Resolved from a scenario that extended {parent!r}.\n"
    return header + tomli_w.dumps(data)
