"""Bounds that mean something: whatever validates keeps the model finite and sane, and every
example of issue #17 that ran to wrong numbers or crashed is now refused at validate (or runs
within the model's laws)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from sim.cli import main
from sim.experiments import run_ensemble
from sim.experiments.invariants import broken_invariants
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.schema import MAX_MONTH, Scenario, parameter_rows

ROOT = Path(__file__).resolve().parents[2]
LA = ROOT / "scenarios" / "la_hosted.toml"
INT64_MAX = 2**63 - 1


def refused(*overrides: str, match: str) -> str:
    with pytest.raises(ScenarioError, match=match) as caught:
        load_scenario(LA, list(overrides))
    return str(caught.value)


def _number_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(path, field, annotation) of every number field, lists as ``[0]``-free paths."""
    out = []
    hints = typing.get_type_hints(model)
    for name, field in model.model_fields.items():
        hint = hints[name]
        args = [a for a in typing.get_args(hint) if isinstance(a, type)]
        subs = [a for a in (hint, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if subs:
            out += _number_fields(subs[0], f"{prefix}{name}.")
        elif hint in (int, float) or set(args) & {int, float}:
            out.append((f"{prefix}{name}", field, hint))
    return out


def test_every_integer_field_has_an_upper_bound_within_int64() -> None:
    """No int field is unbounded above: whatever validates fits an int64 (an end_month of
    2⁶³ − 1 paid no grant; a schedule_month above 2⁶³ overflowed in the portfolio)."""
    for path, field, hint in _number_fields(Scenario):
        if hint is int or int in typing.get_args(hint):
            highs = [getattr(m, "le", None) or getattr(m, "lt", None) for m in field.metadata]
            for item in typing.get_args(field.annotation):  # tuple[LACode, ...]: the items'
                for info in getattr(item, "__metadata__", ()):
                    highs += [getattr(m, "le", None) or getattr(m, "lt", None)
                              for m in getattr(info, "metadata", [info])]
            assert any(h is not None and h < INT64_MAX for h in highs), path


def test_no_field_takes_nan_or_infinity() -> None:
    """NaN, inf and −inf are refused for every top-level number field, with one line naming
    --set, the key and the value."""
    rows = {r["path"] for r in parameter_rows()}
    paths = [p for p, _f, hint in _number_fields(Scenario)
             if p in rows and "[" not in p and (hint is float or float in typing.get_args(hint))]
    assert len(paths) > 100
    for path in paths:
        for value in ("nan", "inf", "-inf"):
            message = refused(f"{path}={value}", match=path)
            assert message.startswith("--set: ") and "\n" not in message


@pytest.mark.parametrize("override", [
    "finance.grants[0].end_month=9223372036854775807",
    "finance.grants[0].start_month=9223372036854775807",
    "portfolio.services[0].schedule_month=9223372036854775808",
    "portfolio.services[0].schedule_month=100000000000000000000",
    f"events.election.month={MAX_MONTH + 1}",
    f"finance.subscriptions_from_month={MAX_MONTH + 1}",
    "finance.pay_awards=[0.03, nan]",
    "uptake.outreach_reference_fte=1e-20",
    "hosting.recruitment_delay_months=1e-20",
    "events.funding_case.reference_reach=1e-300",
    "finance.la_analyst_cost_gbp_per_hour=1e-300",
])
def test_issue_17_values_are_refused_at_validate(override: str) -> None:
    """Months beyond the stated maximum, NaN in a list and divisors near zero stop at
    validate with one line."""
    message = refused(override, match=override.split("=")[0].replace("[", r"\[").replace(
        "]", r"\]"))
    assert "\n" not in message and len(message) < 300


def test_the_cli_exits_2_on_an_out_of_range_month(tmp_path: Path) -> None:
    """`validate` (and so `run`) stops with exit code 2 and one line, no traceback."""
    for command in (["validate", str(LA)], ["run", str(LA), "-n", "2", "--out", str(tmp_path)]):
        result = CliRunner().invoke(main, [*command, "--set",
                                           "finance.grants[0].end_month=9223372036854775807"])
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "end_month" in lines[0], result.output
        assert "Traceback" not in result.output


def test_a_tiny_redundancy_trigger_keeps_staff_and_money_sane(las: Any) -> None:
    """redundancy_trigger_months = 1e-20 gave staff of −3e18 and broke the money identity; it
    is the limit k → 0⁺ of the rule (notice to all but the floor whenever free reserves are
    negative), so it runs with staff in 0–establishment and reserves = Σ flows."""
    scenario = load_scenario(LA, ["workforce.redundancy_trigger_months=1e-20"])
    result = run_ensemble(scenario, las, 20, 11)
    assert broken_invariants(result, las.count) == []
    assert result.metrics["redundancies"].sum() > 0  # the rule acted
    ceiling = sum(r.establishment_fte for r in scenario.workforce.roles())
    assert 0 <= result.metrics["staff_fte"].min() and result.metrics["staff_fte"].max() <= ceiling


@pytest.mark.parametrize("months", [MAX_MONTH, 0])
def test_a_month_at_the_stated_maximum_runs(las: Any, months: int) -> None:
    """A schedule_month at the maximum (never reached) or at 0 runs within the model's laws."""
    scenario = load_scenario(LA, ["portfolio.policy=\"schedule\"",
                                  f"portfolio.services[0].schedule_month={months}",
                                  f"finance.grants[0].end_month={max(months, 1)}",
                                  f"events.election.month={months}"])
    result = run_ensemble(scenario, las, 10, 3)
    assert broken_invariants(result, las.count) == []
