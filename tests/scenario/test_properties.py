"""Property tests: whatever a user writes, loading gives a Scenario or a ScenarioError."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.scenario import Scenario, ScenarioError, load_scenario, resolved_toml

BASE = Scenario().model_dump(mode="json", exclude_none=True)
"""A valid scenario as plain data: every section, with every default written out."""

KNOWN_KEYS = sorted(
    {key for section in BASE.values() if isinstance(section, dict) for key in section} | set(BASE)
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(st.characters(codec="utf-8"), max_size=12)
scalars = st.one_of(
    st.integers(-3, 700),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 0.0, -0.0, 1e308, -1e308, 5e-324, 2**63, 2**64, 1e12, math.nan]),
    text,
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), text)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path below ``node`` (dict keys and list indices), leaves and containers."""
    out = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        out.append((*prefix, key))
        out.extend(paths(child, (*prefix, key)))
    return out


def tables(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Paths of every table (dict), including the top level."""
    out = [prefix] if isinstance(node, dict) else []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        out.extend(tables(child, (*prefix, key)))
    return out


def leaves(node: Any) -> list[tuple]:
    return [p for p in paths(node) if not isinstance(_get(node, p), dict | list)]


def _get(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def override_path(path: tuple) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


LITERALS = [
    "gall",
    "big_bang",
    "la_hosted",
    "government_hosted",
    "independent_company",
    "skills_and_capacity",
    "2026-04",
    "2030-13",
    "",
]


def same_type_value(old: Any) -> st.SearchStrategy:
    """A plausible value of the leaf's own type (so that many edited files are still valid)."""
    if isinstance(old, bool):
        return st.booleans()
    if isinstance(old, int):
        return st.integers(-2, 800)
    if isinstance(old, float):
        return st.one_of(
            st.floats(-1.0, 2.0), st.floats(0.0, 1e6), st.sampled_from([0.0, 1.0, old])
        )
    return st.one_of(st.sampled_from(LITERALS), text)


def edit(doc: dict, data: st.DataObject) -> None:
    """One random edit of ``doc`` in place: nudge or set a leaf, delete a key, or add a key."""
    kind = data.draw(st.sampled_from(["nudge", "set", "delete", "add"]))
    if kind == "nudge" and leaves(doc):
        path = data.draw(st.sampled_from(leaves(doc)))
        parent = _get(doc, path[:-1])
        parent[path[-1]] = data.draw(same_type_value(parent[path[-1]]))
    elif kind == "set" and leaves(doc):
        path = data.draw(st.sampled_from(leaves(doc)))
        _get(doc, path[:-1])[path[-1]] = data.draw(values)
    elif kind == "delete" and paths(doc):
        path = data.draw(st.sampled_from(paths(doc)))
        parent = _get(doc, path[:-1])
        if isinstance(parent, list):
            parent.pop(path[-1])
        else:
            del parent[path[-1]]
    else:
        table = _get(doc, data.draw(st.sampled_from(tables(doc))))
        key = data.draw(keys.filter(lambda k: k != "extends"))  # extends: see test_load.py
        table[key] = data.draw(values)


def check_outcome(path: Path, overrides: list[str], allowed_sources: set[str]) -> None:
    """Load; a Scenario must round-trip through resolved_toml, an error must be well formed."""
    try:
        scenario = load_scenario(path, overrides=overrides)
    except ScenarioError as error:
        where = f"{error.path} " if error.path else ""
        assert str(error) == f"{error.source}: {where}{error.message}"
        assert error.source in allowed_sources
        assert error.message
        return
    assert isinstance(scenario, Scenario)
    resolved = path.with_name("resolved.toml")
    resolved.write_text(resolved_toml(scenario), encoding="utf-8")
    assert load_scenario(resolved) == scenario


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@pytest.fixture(scope="module")
def base_file(workdir: Path) -> Path:
    path = workdir / "base.toml"
    path.write_text(tomli_w.dumps(BASE), encoding="utf-8")
    return path


@SETTINGS
@given(data=st.data())
def test_random_file_edits_load_or_raise_scenario_error(data: st.DataObject, workdir: Path) -> None:
    """Random edits of a valid scenario file load or raise ScenarioError, nothing else."""
    doc = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 4))):
        edit(doc, data)
    try:
        toml_text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        assume(False)  # not representable in TOML
    path = workdir / "edited.toml"
    path.write_text(toml_text, encoding="utf-8")
    check_outcome(path, [], {str(path)})


@SETTINGS
@given(data=st.data())
def test_random_overrides_load_or_raise_scenario_error(
    data: st.DataObject, base_file: Path
) -> None:
    """Random --set strings either load or raise ScenarioError, never anything else."""
    overrides = []
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(
            st.one_of(
                st.sampled_from(leaves(BASE)).map(override_path),
                st.sampled_from(paths(BASE)).map(override_path),
                text,
            )
        )
        value = data.draw(values)
        try:
            literal = tomli_w.dumps({"v": value})[len("v = ") :].strip()
        except (TypeError, ValueError):
            literal = str(value)
        raw = data.draw(st.sampled_from([literal, str(value)]) | text)
        overrides.append(f"{path}={raw}")
    check_outcome(base_file, overrides, {str(base_file), "--set"})


@SETTINGS
@given(
    parent=st.one_of(
        text,
        st.sampled_from(
            [".", "..", "", "/", "base.toml", "edited.toml", "resolved.toml", "x" * 300]
        ),
    )
)
def test_random_extends_load_or_raise_scenario_error(parent: str, workdir: Path) -> None:
    """Any extends value without NUL loads or raises ScenarioError (NUL: see test_load.py)."""
    assume("\x00" not in parent)
    path = workdir / "child.toml"
    path.write_text(tomli_w.dumps({"extends": parent}), encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError:
        pass
