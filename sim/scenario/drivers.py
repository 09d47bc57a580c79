"""What a scenario says about itself for the board page: its plain title, its description and
its declared drivers (``meta.drivers``), each with its meaning, its value in the scenario and
its value in the reference scenario (``scenarios/base.toml``).

The result is plain JSON-ready data: :func:`scenario_meta` is called where the scenarios are
still at hand (:mod:`sim.api`), and the run's ``manifest.json`` carries it to the outputs,
which never read scenario files (docs/outputs.md, ``scenario_meta``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sim.scenario.errors import ScenarioError
from sim.scenario.load import SHIPPED_SCENARIOS, get_path, load_scenario
from sim.scenario.schema import Scenario, parameter_info, readable_name

__all__ = ["REFERENCE_FILE", "format_value", "options", "plain_meaning", "reference_scenario",
           "scenario_meta"]

REFERENCE_FILE = SHIPPED_SCENARIOS / "base.toml"
"""The scenario every driver's value is set against: the shared starting point."""

MAX_VALUE_CHARS = 90
"""Longest value text shown (a list of tables is cut, with an ellipsis)."""


def reference_scenario(overrides: Iterable[str] = ()) -> Scenario | None:
    """``scenarios/base.toml`` with the run's ``--set`` overrides (as every compared scenario
    had them), or without them if they do not apply to it; None if it cannot be read."""
    for attempt in (tuple(overrides), ()):
        try:
            return load_scenario(REFERENCE_FILE, attempt)
        except ScenarioError:
            continue
    return None


_OPTION = re.compile(r"(?:^|(?<=[;.])\s+)([a-z][a-z_]*): ")


def options(description: str) -> dict[str, str]:
    """The meaning of each choice of a parameter whose description lists them as
    ``choice: meaning; choice: meaning`` (e.g. ``hosting.failure_rule``); empty otherwise."""
    found = list(_OPTION.finditer(description))
    if len(found) < 2 or found[0].start() != 0:
        return {}
    ends = [m.start() for m in found[1:]] + [len(description)]
    return {m.group(1): description[m.end():end].strip().rstrip(";.")
            for m, end in zip(found, ends, strict=True)}


def plain_meaning(path: str, description: str, limit: int = 160) -> str:
    """What the parameter at ``path`` is, in words: the first sentence of its description (at
    most ``limit`` characters), or for a choice its name and the choices."""
    choices = options(description)
    if choices:
        words = re.sub(r"\[\d*\]", "", path).split(".")[-2:]
        return f"{readable_name(' '.join(words))} (one of: {', '.join(choices)})"
    first = re.split(r"(?<=[.])\s", description.strip(), maxsplit=1)[0].rstrip(".")
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"


def format_value(value: Any, unit: str) -> str:
    """A parameter value in words: ``£850,000 a year``, ``36 (month)``, ``21.1%``, ``true``."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if unit.startswith("GBP"):
            per = unit.partition("/")[2]
            return f"£{value:,.0f}" + (f" a {per}" if per else "")
        if unit == "month":
            return f"month {value:,.0f}"
        if unit in ("share", "probability", "0–1") and 0 <= value <= 1:
            return f"{100 * value:.4g}%"
        number = f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"
        return number + ("" if unit in ("-", "") else f" {unit}")
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def _value(data: dict[str, Any], path: str) -> Any:
    try:
        return get_path(data, path)
    except (KeyError, IndexError):
        return None


def _shown(value: Any, unit: str, description: str) -> str:
    """A value in words; a choice with what it means (``insolvency: closes when ...``)."""
    meaning = options(description).get(value) if isinstance(value, str) else None
    return f"{value}: {meaning}" if meaning else format_value(value, unit)


def scenario_meta(scenario: Scenario, reference: Scenario | None) -> dict[str, Any]:
    """``{"title", "description", "drivers": [{"path", "meaning", "unit", "value",
    "reference_value"}]}`` of one scenario; values are words (:func:`format_value`), the
    reference's ``None`` when there is no reference."""
    mine = scenario.model_dump(mode="json")
    theirs = reference.model_dump(mode="json") if reference is not None else None
    drivers = []
    for path in scenario.meta.drivers:
        description, unit = parameter_info(path)
        drivers.append({
            "path": path, "meaning": plain_meaning(path, description), "unit": unit,
            "value": _shown(_value(mine, path), unit, description),
            "reference_value": (_shown(_value(theirs, path), unit, description)
                                if theirs is not None else None)})
    return {"title": scenario.meta.plain_title, "description": scenario.meta.description,
            "drivers": drivers}
