"""The explorer's controls: which scenario values a board argues about, where each lives in the
schema, and how the values on screen become a scenario file.

A screen is a base scenario file plus the values of the controls. What differs from the base
is written as a small TOML file that ``extends`` the base (:func:`explored_toml`): tables merge
key by key, so a changed price or turnover is one key; a list (the grants, the subscription
bands, the adaptive policies) replaces the base's list whole, as ``extends`` does
(docs/model.md §1). The explorer runs exactly that file (:func:`explored_scenario`), so the
file it offers for download reproduces the screen.

Each control's unit, range, source and meaning come from the schema (``python run.py params``,
the same rows as the parameter table of docs/model.md).
"""

from __future__ import annotations

import copy
import functools
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from sim.scenario import Scenario, load_scenario, parameter_rows
from sim.scenario.load import BUILTIN

__all__ = ["CONTROLS", "Control", "SHIPPED", "base_values", "changed_keys", "explored_patch",
           "explored_scenario", "explored_toml", "hover_text", "shipped_scenarios"]

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
"""The shipped scenarios (``extends = "builtin:NAME"`` names them from anywhere)."""


@dataclass(frozen=True)
class Control:
    """One slider or picker: its id on the page, the schema path its hover text is read from,
    its label, and (sliders) the range and step shown — narrower than the schema's range,
    which the hover text gives."""

    id: str
    path: str
    label: str
    low: float = 0.0
    high: float = 0.0
    step: float = 1.0


CONTROLS: tuple[Control, ...] = (
    Control("grant_amount", "finance.grants[].amount_gbp_per_year",
            "First grant: amount (£ a year)", 0, 3_000_000, 50_000),
    Control("grant_length", "finance.grants[].end_month",
            "First grant: length (months from its start)", 6, 120, 6),
    Control("price_0", "finance.subscription_bands[].price_gbp_per_year",
            "Subscription price", 0, 25_000, 250),
    Control("price_1", "finance.subscription_bands[].price_gbp_per_year",
            "Subscription price", 0, 25_000, 250),
    Control("price_2", "finance.subscription_bands[].price_gbp_per_year",
            "Subscription price", 0, 25_000, 250),
    Control("wtp_median", "market.wtp_median_gbp_per_year",
            "Market ceiling: median willingness to pay (£ a year)", 0, 20_000, 250),
    Control("turnover", "workforce.resignation_rate_per_year",
            "Staff turnover (resignations per FTE a year)", 0.0, 0.5, 0.01),
    Control("growth", "portfolio.policy", "Growth policy"),
    Control("policies", "policies[].name", "Adaptive policies (on = ticked)"),
)
"""The controls, in page order. ``price_i`` is the i-th subscription band's price, or (a
scenario without bands) ``price_0`` is the one ``finance.subscription_gbp_per_year``."""

GROWTH_POLICIES = ("gall", "big_bang")
"""The growth policies offered (``portfolio.policy``; ``schedule`` needs dated services)."""
MAX_BANDS = 3


def shipped_scenarios() -> list[Path]:
    """Every shipped delivery-model scenario (``scenarios/*.toml``), by name, then those with
    adaptive policies (``scenarios/policies/*.toml``)."""
    return sorted(SHIPPED.glob("*.toml")) + sorted((SHIPPED / "policies").glob("*.toml"))


@functools.cache
def _rows() -> dict[str, dict[str, str]]:
    return {row["path"]: row for row in parameter_rows()}


def hover_text(control: Control) -> str:
    """Unit, schema range, default, source and meaning of the parameter behind a control."""
    row = _rows().get(control.path)
    if row is None:
        return control.label
    path = control.path.replace("[]", "[0]", 1) if control.id.startswith("grant") else control.path
    return (f"{path} — unit: {row['unit']}; schema range: {row['range']}; "
            f"schema default: {row['default']}; source: {row['source']}. {row['description']}")


def base_values(scenario: Scenario) -> dict[str, Any]:
    """The control values a scenario has (None where it has nothing to control: no grant, no
    second band)."""
    finance = scenario.finance
    grant = finance.grants[0] if finance.grants else None
    bands = finance.subscription_bands
    prices: list[float | None] = ([b.price_gbp_per_year for b in bands[:MAX_BANDS]] if bands
                                  else [finance.subscription_gbp_per_year])
    prices += [None] * (MAX_BANDS - len(prices))
    return {
        "grant_amount": grant.amount_gbp_per_year if grant else None,
        "grant_length": grant.end_month - grant.start_month if grant else None,
        "price_0": prices[0], "price_1": prices[1], "price_2": prices[2],
        "wtp_median": scenario.market.wtp_median_gbp_per_year,
        "turnover": scenario.workforce.resignation_rate_per_year,
        "growth": scenario.portfolio.policy,
        "policies": list(range(len(scenario.policies))),
    }


def price_labels(scenario: Scenario) -> list[str]:
    """What each price slider sets in this scenario ('' for an unused slider)."""
    bands = scenario.finance.subscription_bands
    if not bands:
        return ["Subscription price, every member (£ a year)", "", ""]
    labels = [f"Subscription price, {b.name} LAs (£ a year)" for b in bands[:MAX_BANDS]]
    return labels + [""] * (MAX_BANDS - len(labels))


def _differs(new: Any, old: Any) -> bool:
    if new is None or old is None:
        return False
    if isinstance(old, float) or isinstance(new, float):
        return abs(float(new) - float(old)) > 1e-9 * max(1.0, abs(float(old)))
    return bool(new != old)


def explored_patch(scenario: Scenario, values: Mapping[str, Any]) -> dict[str, Any]:
    """The keys the controls change, as a nested table to write over the base scenario
    (empty when nothing differs). Lists are given whole, as ``extends`` replaces them."""
    base = base_values(scenario)
    dumped = scenario.model_dump(mode="json", exclude_none=True)
    patch: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        *tables, key = path.split(".")
        node = patch
        for table in tables:
            node = node.setdefault(table, {})
        node[key] = value

    if _differs(values.get("grant_amount"), base["grant_amount"]) or _differs(
            values.get("grant_length"), base["grant_length"]):
        grants = copy.deepcopy(dumped["finance"]["grants"])
        if values.get("grant_amount") is not None:
            grants[0]["amount_gbp_per_year"] = float(values["grant_amount"])
        if values.get("grant_length") is not None:
            grants[0]["end_month"] = grants[0]["start_month"] + int(values["grant_length"])
        put("finance.grants", grants)
    prices = [values.get(f"price_{i}") for i in range(MAX_BANDS)]
    if any(_differs(prices[i], base[f"price_{i}"]) for i in range(MAX_BANDS)):
        if scenario.finance.subscription_bands:
            bands = copy.deepcopy(dumped["finance"]["subscription_bands"])
            for i, band in enumerate(bands[:MAX_BANDS]):
                if prices[i] is not None:
                    band["price_gbp_per_year"] = float(prices[i])  # type: ignore[arg-type]
            put("finance.subscription_bands", bands)
        else:
            put("finance.subscription_gbp_per_year", float(prices[0]))  # type: ignore[arg-type]
    if _differs(values.get("wtp_median"), base["wtp_median"]):
        put("market.wtp_median_gbp_per_year", float(values["wtp_median"]))
    if _differs(values.get("turnover"), base["turnover"]):
        put("workforce.resignation_rate_per_year", float(values["turnover"]))
    if _differs(values.get("growth"), base["growth"]):
        put("portfolio.policy", str(values["growth"]))
    kept = sorted(int(i) for i in values.get("policies") or [])
    if values.get("policies") is not None and kept != base["policies"]:
        put("policies", [dumped["policies"][i] for i in kept])
    return patch


def changed_keys(patch: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The key paths a patch sets (a list counts as one key)."""
    keys: list[str] = []
    for key, value in patch.items():
        if isinstance(value, Mapping):
            keys += changed_keys(value, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def _extends(base_file: Path, portable: bool) -> str:
    """How the explored file names its base: ``builtin:NAME`` for a shipped scenario (the file
    then works from anywhere), else the base's absolute path."""
    resolved = base_file.resolve()
    if portable and resolved.parent == SHIPPED:
        return f"{BUILTIN}{resolved.stem}"
    return resolved.as_posix()


def explored_toml(base_file: Path, scenario: Scenario, values: Mapping[str, Any],
                  *, portable: bool = True, role: str = "explored") -> str:
    """The scenario file of the screen: ``extends`` the base file, then only the changed keys
    (and a name of its own, ``<base>_<role>``, so it can be compared with its base)."""
    patch = explored_patch(scenario, values)
    keys = changed_keys(patch)
    name = f"{scenario.meta.name[:50]}_{role}"
    title = f"{scenario.meta.plain_title[:46]} ({role})"
    described = ", ".join(keys) if keys else "nothing"
    meta = {"name": name, "title": title,
            "description": f"{scenario.meta.name} as set in the explorer; changed: {described}"}
    header = (f"# Saved from the explorer (python run.py explore): {base_file.name} with "
              f"{len(keys)} changed key(s).\n# Run it: python run.py run {name}.toml\n")
    body = tomli_w.dumps({"extends": _extends(base_file, portable), "meta": meta, **patch})
    return header + body


def explored_scenario(base_file: Path, scenario: Scenario, values: Mapping[str, Any],
                      role: str = "explored") -> tuple[Scenario, str]:
    """The scenario on screen and its file text, loaded exactly as ``python run.py run`` loads
    the saved file (through a temporary file that extends the base)."""
    text = explored_toml(base_file, scenario, values, role=role)
    with tempfile.TemporaryDirectory(prefix="coe-explore-") as folder:
        path = Path(folder) / f"{scenario.meta.name}_{role}.toml"
        path.write_text(text, encoding="utf-8")
        explored = load_scenario(path)
    return explored, text
