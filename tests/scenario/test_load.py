"""Scenario files: loading, inheritance, overrides, error messages and the resolved TOML."""

from __future__ import annotations

import signal
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sim.scenario import Scenario, ScenarioError, load_scenario, resolved_toml

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.toml"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, overrides: list[str] | None = None) -> ScenarioError:
    """The ScenarioError that loading raises (fails the test if it loads)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides or [])
    return info.value


def same_file(a: str, b: Path) -> bool:
    return Path(a).resolve() == b.resolve()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError after ``seconds`` (turns a hang into a failure)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_every_shipped_scenario_loads(path: Path) -> None:
    """Each scenarios/*.toml validates into a Scenario."""
    assert isinstance(load_scenario(path), Scenario)


def test_shipped_scenarios_inherit_through_two_levels() -> None:
    """big_bang.toml: own policy, hosting from la_hosted.toml, finance from base.toml."""
    base = tomllib.loads((SCENARIO_DIR / "base.toml").read_text())
    la_hosted = tomllib.loads((SCENARIO_DIR / "la_hosted.toml").read_text())
    scenario = load_scenario(SCENARIO_DIR / "big_bang.toml")
    assert scenario.portfolio.policy == "big_bang"
    assert scenario.hosting.deficit_tolerance_gbp == la_hosted["hosting"]["deficit_tolerance_gbp"]
    assert (
        scenario.finance.subscription_gbp_per_year == base["finance"]["subscription_gbp_per_year"]
    )
    assert scenario.uptake.q_per_year == base["uptake"]["q_per_year"]


def test_extends_child_overrides_and_parent_values_survive(tmp_path: Path) -> None:
    """Tables merge key by key (child wins, parent keys survive); arrays are replaced whole."""
    write(
        tmp_path / "parent.toml",
        """
[uptake]
p_per_year = 0.05
q_per_year = 0.5

[finance]
subscription_gbp_per_year = 1000.0

[[finance.grants]]
name = "first"
start_month = 0
end_month = 12

[[finance.grants]]
name = "second"
start_month = 12
end_month = 24
""",
    )
    write(
        tmp_path / "child.toml",
        """
extends = "parent.toml"

[uptake]
q_per_year = 0.4

[[finance.grants]]
name = "only"
start_month = 6
end_month = 30
""",
    )
    write(
        tmp_path / "grandchild.toml",
        """
extends = "child.toml"

[finance]
subscription_gbp_per_year = 2000.0
""",
    )
    child = load_scenario(tmp_path / "child.toml")
    assert child.uptake.q_per_year == 0.4
    assert child.uptake.p_per_year == 0.05
    assert child.finance.subscription_gbp_per_year == 1000.0
    assert [(g.name, g.start_month, g.end_month) for g in child.finance.grants] == [("only", 6, 30)]
    grandchild = load_scenario(tmp_path / "grandchild.toml")
    assert grandchild.finance.subscription_gbp_per_year == 2000.0
    assert grandchild.uptake.p_per_year == 0.05 and grandchild.uptake.q_per_year == 0.4
    assert [g.name for g in grandchild.finance.grants] == ["only"]


def test_meta_name_defaults_to_file_stem(tmp_path: Path) -> None:
    """A file that does not set meta.name is named after its file, not after its parent."""
    write(tmp_path / "parent.toml", '[meta]\nname = "the parent"\ndescription = "kept"\n')
    write(tmp_path / "my_variant.toml", 'extends = "parent.toml"\n[meta]\ndescription = "mine"\n')
    write(tmp_path / "bare_child.toml", 'extends = "parent.toml"\n')
    write(tmp_path / "standalone.toml", "[time]\nhorizon_months = 60\n")
    assert load_scenario(tmp_path / "parent.toml").meta.name == "the parent"
    assert load_scenario(tmp_path / "my_variant.toml").meta.name == "my_variant"
    bare = load_scenario(tmp_path / "bare_child.toml")
    assert bare.meta.name == "bare_child"
    assert bare.meta.description == "kept"
    assert load_scenario(tmp_path / "standalone.toml").meta.name == "standalone"


# --------------------------------------------------------------------------- overrides


def test_overrides_set_values_including_list_items_and_bare_strings() -> None:
    """--set reaches list items by index and reads a bare word as a string."""
    scenario = load_scenario(
        SCENARIO_DIR / "la_hosted.toml",
        overrides=[
            "finance.grants[0].end_month=48",
            "portfolio.policy=big_bang",
            "uptake.p_per_year = 0.05",
            'meta.description=a quoted "word" and spaces',
        ],
    )
    assert scenario.finance.grants[0].end_month == 48
    assert scenario.portfolio.policy == "big_bang"
    assert scenario.uptake.p_per_year == 0.05
    assert scenario.meta.description == 'a quoted "word" and spaces'


def test_later_override_wins() -> None:
    """When two overrides set the same key, the last one applies."""
    scenario = load_scenario(
        SCENARIO_DIR / "base.toml", overrides=["time.horizon_months=60", "time.horizon_months=84"]
    )
    assert scenario.time.horizon_months == 84


def test_override_replaces_a_table_value_with_a_toml_literal() -> None:
    """An override value is read as TOML, so arrays of tables replace the whole list."""
    scenario = load_scenario(
        SCENARIO_DIR / "base.toml",
        overrides=[
            'finance.grants=[{name = "a", start_month = 0, end_month = 24}, '
            '{name = "b", start_month = 24, end_month = 48}]'
        ],
    )
    assert [(g.name, g.end_month) for g in scenario.finance.grants] == [("a", 24), ("b", 48)]


# --------------------------------------------------------------------------- errors


def test_error_string_is_source_path_message(tmp_path: Path) -> None:
    """str(ScenarioError) is '<file>: <key.path> <message>'."""
    path = write(tmp_path / "s.toml", "[uptake]\nrenewal_prob = 1.5\n")
    error = load_error(path)
    assert str(error) == f"{error.source}: {error.path} {error.message}"


def test_unknown_key_suggests_the_nearest_name(tmp_path: Path) -> None:
    """A misspelt key is named with its path and a 'did you mean' hint."""
    path = write(tmp_path / "typo.toml", "[uptake]\np_per_yr = 0.03\n")
    error = load_error(path)
    assert error.path == "uptake.p_per_yr"
    assert same_file(error.source, path)
    assert "did you mean 'p_per_year'" in error.message


def test_unknown_key_in_override_is_blamed_on_set() -> None:
    """A misspelt --set key is reported against '--set' with the same hint."""
    error = load_error(SCENARIO_DIR / "base.toml", ["uptake.p_per_yr=0.03"])
    assert error.source == "--set"
    assert error.path == "uptake.p_per_yr"
    assert "did you mean 'p_per_year'" in error.message


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    """A value of the wrong type is reported with its key path and the value given."""
    path = write(tmp_path / "s.toml", '[time]\nhorizon_months = "ten"\n')
    error = load_error(path)
    assert error.path == "time.horizon_months"
    assert "'ten'" in error.message


def test_out_of_range_names_key_and_value(tmp_path: Path) -> None:
    """A value outside its range is reported with its key path and the value given."""
    path = write(tmp_path / "s.toml", "[uptake]\nrenewal_prob = 1.5\n")
    error = load_error(path)
    assert error.path == "uptake.renewal_prob"
    assert "1.5" in error.message


def test_grant_ending_before_it_starts(tmp_path: Path) -> None:
    """A grant that ends before it starts gives the documented one-line message."""
    path = write(
        tmp_path / "grant.toml",
        '[[finance.grants]]\nname = "g"\nstart_month = 24\nend_month = 12\n',
    )
    error = load_error(path)
    assert "finance.grants[0].end_month must be after start_month (24), got 12" in str(error)
    assert same_file(error.source, path)


@pytest.mark.parametrize(("text", "key", "shown"), [
    ('[[finance.grants]]\nname = "g"\nbasis = "actuals"\n', "finance.grants[0].basis",
     "'actuals'"),
    ('[[finance.grants]]\nname = "g"\nearned_income = "kept"\n',
     "finance.grants[0].earned_income", "'kept'"),
    ('[hosting]\nreserves_rule = "hoard"\n', "hosting.reserves_rule", "'hoard'"),
    ("[hosting]\nreserve_cap_months = -1\n", "hosting.reserve_cap_months", "-1"),
    ("[hosting]\nreserve_target_months = 100\n", "hosting.reserve_target_months", "100"),
    ("[hosting]\nmax_price_change = 1.5\n", "hosting.max_price_change", "1.5"),
])
def test_money_rule_keys_are_validated_in_one_line(tmp_path: Path, text: str, key: str,
                                                    shown: str) -> None:
    """A grant basis, an earned-income term, a reserves rule or its months and price band out of
    their allowed values: one line naming the key and quoting the value."""
    error = load_error(write(tmp_path / "s.toml", text))
    assert error.path == key
    assert shown in error.message and "\n" not in str(error)


def test_error_names_the_file_where_the_key_was_written(tmp_path: Path) -> None:
    """The error blames the parent, the child or '--set', whichever wrote the bad value."""
    parent = write(tmp_path / "parent.toml", "[uptake]\nrenewal_prob = 1.5\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n[time]\nhorizon_months = 60\n')
    assert same_file(load_error(child).source, parent)

    write(tmp_path / "good_parent.toml", "[uptake]\nrenewal_prob = 0.5\n")
    bad_child = write(
        tmp_path / "bad_child.toml",
        'extends = "good_parent.toml"\n[workforce]\nresignation_rate_per_year = -1\n',
    )
    assert same_file(load_error(bad_child).source, bad_child)

    fixed = write(
        tmp_path / "fixed.toml", 'extends = "parent.toml"\n[uptake]\nrenewal_prob = 0.9\n'
    )
    assert load_scenario(fixed).uptake.renewal_prob == 0.9
    error = load_error(fixed, ["uptake.renewal_prob=2"])
    assert error.source == "--set" and error.path == "uptake.renewal_prob"


def test_missing_file(tmp_path: Path) -> None:
    """A missing file, or a missing parent, is a ScenarioError that says so."""
    error = load_error(tmp_path / "nowhere.toml")
    assert "not found" in error.message
    child = write(tmp_path / "orphan.toml", 'extends = "no_parent.toml"\n')
    error = load_error(child)
    assert "not found" in error.message
    assert "orphan.toml" in error.message  # names the file whose 'extends' pointed there


def test_invalid_toml(tmp_path: Path) -> None:
    """A file that is not TOML is a ScenarioError naming the file."""
    path = write(tmp_path / "broken.toml", "[uptake\np_per_year = \n")
    error = load_error(path)
    assert same_file(error.source, path)
    assert "TOML" in error.message


def test_extends_loop_is_an_error(tmp_path: Path) -> None:
    """Files that extend each other, or themselves, give a ScenarioError instead of recursing."""
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    with time_limit(10):
        error = load_error(tmp_path / "a.toml")
    assert error.path == "extends"
    write(tmp_path / "me.toml", 'extends = "me.toml"\n')
    assert load_error(tmp_path / "me.toml").path == "extends"


def test_extends_must_be_a_string(tmp_path: Path) -> None:
    """A non-string extends is a ScenarioError."""
    path = write(tmp_path / "s.toml", "extends = 3\n")
    assert load_error(path).path == "extends"


def test_extends_with_nul_byte_is_a_scenario_error(tmp_path: Path) -> None:
    """An extends path that no file system accepts is a ScenarioError, not a crash."""
    path = write(tmp_path / "s.toml", 'extends = "a\\u0000b.toml"\n')
    load_error(path)


def test_overlong_file_stem_as_name_is_a_scenario_error(tmp_path: Path) -> None:
    """A file whose stem is too long to be its default meta.name gives a ScenarioError (no hang)."""
    path = write(tmp_path / f"{'x' * 70}.toml", "[time]\nhorizon_months = 60\n")
    with time_limit(2):
        error = load_error(path)
    assert error.path == "meta.name"


# --------------------------------------------------------------------------- resolved TOML


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_resolved_toml_round_trips_every_parameter(path: Path, tmp_path: Path) -> None:
    """Loading the resolved TOML gives back every parameter (all fields but the extends record)."""
    scenario = load_scenario(
        path, overrides=["finance.grants[0].end_month=48", "uptake.q_per_year=0.41"]
    )
    again = load_scenario(write(tmp_path / "resolved.toml", resolved_toml(scenario)))
    assert again.model_dump(exclude={"extends"}) == scenario.model_dump(exclude={"extends"})


def test_resolved_toml_round_trips_a_scenario_without_parent(tmp_path: Path) -> None:
    """For a scenario with no parent the resolved TOML loads back to an equal Scenario."""
    for scenario in (
        Scenario(),
        load_scenario(SCENARIO_DIR / "base.toml", ["uptake.p_per_year=0.02"]),
    ):
        assert load_scenario(write(tmp_path / "resolved.toml", resolved_toml(scenario))) == scenario


def test_resolved_toml_round_trips_an_inheriting_scenario(tmp_path: Path) -> None:
    """resolved_toml(s) is self-contained: it loads back to s with extends=None, and names the
    parent."""
    scenario = load_scenario(SCENARIO_DIR / "la_hosted.toml")
    assert scenario.extends is not None
    text = resolved_toml(scenario)
    assert scenario.extends in text.split("\n", 2)[1]
    again = load_scenario(write(tmp_path / "elsewhere" / "resolved.toml", text))
    assert again == scenario.model_copy(update={"extends": None})
