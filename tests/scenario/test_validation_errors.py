"""The one translator of schema errors: every input file's problem reads file, key path, value,
rule, whichever schema (scenario, sweep file, calibration spec) found it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.scenario import ScenarioError, explain_validation_error, load_scenario


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(_Strict):
    start_month: int = Field(default=0, ge=0)
    end_month: int = 12

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end_month <= self.start_month:
            raise ValueError(f"end_month must be after start_month ({self.start_month}), "
                             f"got {self.end_month}")
        return self


class Plan(_Strict):
    name: str
    windows: tuple[Window, ...] = ()


def _explain(data: dict) -> tuple[str, str]:
    with pytest.raises(ValidationError) as info:
        Plan.model_validate(data)
    return explain_validation_error(info.value, Plan)


def test_unknown_key_names_the_closest_and_the_allowed_keys() -> None:
    """A misspelt key gets 'did you mean' and the keys allowed in its table."""
    assert _explain({"name": "x", "windows": [{"start_mnth": 3}]}) == (
        "windows[0].start_mnth",
        "is not a known key (did you mean 'start_month'?); allowed here: start_month, end_month")


def test_missing_key_and_bad_value() -> None:
    """A missing key says so; a bad value is quoted after the rule."""
    assert _explain({}) == ("name", "is required but missing")
    assert _explain({"name": "x", "windows": [{"start_month": -2}]}) == (
        "windows[0].start_month", "must be greater than or equal to 0, got -2")


def test_rule_across_fields_names_the_field_it_is_about() -> None:
    """A table's rule moves the field it starts with into the key path, and is not followed by
    the whole table as the value."""
    assert _explain({"name": "x", "windows": [{"start_month": 6, "end_month": 2}]}) == (
        "windows[0].end_month", "must be after start_month (6), got 2")


def test_further_problems_are_counted() -> None:
    """Only the first problem is spelled out; the others are counted."""
    path, message = _explain({"windows": [{"start_month": -1, "x": 1}]})
    assert path == "name" and message.endswith(" (and 2 more problems)")


def test_scenario_sweep_and_spec_read_alike(tmp_path: Path) -> None:
    """The same mistake reads the same way in a scenario, a sweep file and a calibration spec:
    'is not a known key (did you mean ...)' at its key path, in one line."""
    from sim.experiments.calibration import load_spec
    from sim.experiments.sweepfile import load_sweep

    scenario = tmp_path / "s.toml"
    scenario.write_text("[uptake]\nq_per_yer = 0.3\n", encoding="utf-8")
    sweep = tmp_path / "w.toml"
    sweep.write_text('test_function = "linear"\ndesing = "lhs"\n[[parameters]]\npath = "x1"\n'
                     "low = 0\nhigh = 1\n", encoding="utf-8")
    spec = tmp_path / "c.toml"
    spec.write_text('[meta]\nname = "c"\n[observed]\nfile = "o.csv"\ndate_column = "d"\n'
                    'value_column = "v"\n[method]\nkind = "trend"\nseeed = 1\n', encoding="utf-8")
    messages = []
    for path, load in ((scenario, load_scenario), (sweep, load_sweep), (spec, load_spec)):
        with pytest.raises(ScenarioError) as info:
            load(path)
        messages.append(str(info.value))
        assert "\n" not in str(info.value)
    assert messages[0].startswith(f"{scenario}: uptake.q_per_yer is not a known key (did you "
                                  "mean 'q_per_year'?); allowed here: ")
    assert messages[1].startswith(f"{sweep}: desing is not a known key (did you mean "
                                  "'design'?); allowed here: ")
    assert messages[2].startswith(f"{spec}: method.seeed is not a known key (did you mean "
                                  "'seed'?); allowed here: ")
