"""Bad specs and bad observed files stop with one clear line (file, key or row, value, rule)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.experiments.calibration import CalibrationError, load_spec, parse_date, read_series

GOOD_CSV = "date,adopters,population\n2010,5,153\n2012-06,12,153\n2014-03-31,25,153\n2016,40,153\n"


def error_of(path: Path) -> str:
    with pytest.raises(CalibrationError) as info:
        read_series(load_spec(path))
    return str(info.value)


def test_parse_date_accepts_year_month_and_day() -> None:
    """YYYY (given the default month), YYYY-MM and YYYY-MM-DD parse; nonsense does not."""
    assert parse_date("2012", 7) == 12 * 2012 + 6
    assert parse_date("2012-03") == 12 * 2012 + 2
    assert parse_date("2016-12-20") == 12 * 2016 + 11
    for bad in ("2016-13", "2016-02-30", "12/03/2016", "soon", "", "0000", "9999-12"):
        assert parse_date(bad) is None


def test_missing_column_names_it_and_lists_the_columns(write_spec: Callable[..., Path]) -> None:
    """A value column that is not in the file is named, with the columns present."""
    path = write_spec(GOOD_CSV.replace("adopters", "las"))
    message = error_of(path)
    assert "has no column 'adopters' (named by observed.value_column)" in message
    assert "columns present: date, las, population" in message


def test_unparseable_date_gives_line_and_value(write_spec: Callable[..., Path]) -> None:
    """A bad date names its line in the file and the text found there."""
    path = write_spec(GOOD_CSV.replace("2014-03-31", "31/03/2014"))
    message = error_of(path)
    assert "line 4: date '31/03/2014' in column 'date' is not a date" in message
    assert "YYYY, YYYY-MM or YYYY-MM-DD" in message


def test_too_few_points_says_how_many_and_how_many_needed(write_spec: Callable[..., Path]) -> None:
    """Two points cannot fit two parameters: the message gives both numbers, and the first
    point, which only seeds the model, counts toward no minimum (issue #16)."""
    path = write_spec("date,adopters\n2010,5\n2012,9\n")
    message = error_of(path)
    assert "has 2 usable points" in message and "needs at least 4" in message
    assert "after the first point, which only seeds the model" in message


def test_non_numeric_value_is_an_error_but_dfe_symbols_are_dropped(
        write_spec: Callable[..., Path]) -> None:
    """'x' (DfE: unavailable) is dropped and listed; other text is an error naming its line."""
    path = write_spec(GOOD_CSV + "2018,x,153\n")
    series = read_series(load_spec(path))
    assert series.count == 3 and series.dropped == [(6, "2018", "x")]
    assert series.seed is not None and series.seed[1] == "2010"  # the seed is not a point
    path = write_spec(GOOD_CSV + "2018,lots,153\n")
    assert "line 6: value 'lots' in column 'adopters' is not a number" in error_of(path)


def test_repeated_months_and_unmatched_exclusions_are_errors(
        write_spec: Callable[..., Path]) -> None:
    """Two rows in one month need a filter; an exclusion must match a row."""
    path = write_spec(GOOD_CSV + "2016-07-01,41,153\n")
    assert "fall in the same month (2016-07)" in error_of(path)
    path = write_spec(GOOD_CSV, extra_observed='exclude = [{date = "2030", reason = "test"}]')
    assert "observed.exclude[0].date matches no row" in error_of(path)


@pytest.mark.parametrize(("pieces", "expected"), [
    ({"method": 'kind = "abc"\nbudget = "huge"'},
     "method.budget is not a known key"),
    ({"method": 'kind = "annealing"'}, "method.kind must be"),
    ({"parameters": '[[parameters]]\npath = "uptake.q_per_year"\nlower = 1.0\nupper = 0.5\n'},
     "parameters[0].upper must be greater than lower (1.0), got 0.5"),
    ({"parameters": '[[parameters]]\npath = "uptake.q_per_yr"\nlower = 0.0\nupper = 1.0\n'},
     "parameters[0].lower 0.0 is not allowed for uptake.q_per_yr"),
    ({"parameters": '[[parameters]]\npath = "uptake.p_per_year"\nlower = 0.0\nupper = 3.0\n'},
     "parameters[0].upper 3.0 is not allowed for uptake.p_per_year: uptake.p_per_year must be "
     "less than or equal to 1"),
    ({"parameters": '[[parameters]]\npath = "calibration.ceiling"\nlower = 0.0\nupper = 1.0\n'},
     "is not a calibration-layer parameter"),
    ({"model": '[model]\nscenario = "nowhere.toml"\nmetric = "members"\n'},
     "model.scenario file not found"),
])
def test_bad_spec_names_file_key_value_and_rule(write_spec: Callable[..., Path],
                                                pieces: dict[str, str], expected: str) -> None:
    """Spec errors name the spec file and the key path with the rule broken."""
    path = write_spec(GOOD_CSV, **pieces)
    with pytest.raises(CalibrationError) as info:
        load_spec(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)


def test_unknown_metric_gets_a_hint(write_spec: Callable[..., Path]) -> None:
    """A misspelt model metric is named with the closest real one."""
    model = ('[model]\nscenario = "../../calibration/models/uptake_only.toml"\n'
             'metric = "member"\n')
    path = write_spec(GOOD_CSV, model=model.replace("../../calibration/models/uptake_only.toml",
                                                    str(Path(__file__).parents[2] / "calibration"
                                                        / "models" / "uptake_only.toml")))
    with pytest.raises(CalibrationError, match=r"model.metric is not a model metric \(did you "
                                               r"mean 'members'\?\)"):
        load_spec(path)


def test_cli_reports_bad_files_in_one_line_with_exit_code_2(
        write_spec: Callable[..., Path], tmp_path: Path) -> None:
    """calibrate prints 'error: …' without a traceback and exits 2, also for --observed files."""
    path = write_spec(GOOD_CSV)
    (tmp_path / "other.csv").write_text("when,n\n2019,3\n2020,oops\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["calibrate", str(path), "--observed", str(tmp_path / "other.csv"),
                                  "--date-column", "when", "--value-column", "n"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: ")
    assert "line 3: value 'oops' in column 'n' is not a number" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["calibrate", str(path), "--observed",
                                  str(tmp_path / "other.csv")])
    assert result.exit_code == 2
    assert "missing: --date-column, --value-column" in result.output
    result = runner.invoke(main, ["calibrate", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "none.toml: file not found" in result.output


@pytest.mark.parametrize(("value", "words"), [
    ("1e308", "above its population of 153 LAs"),
    ("-1e308", "is negative"),
    ("-5", "is negative (-5); a count cannot be"),
    ("400", "is 400, above its population of 153 LAs"),
    ("1e309", "is not a number"),  # overflows to inf when read: not a finite number
])
def test_observed_counts_are_checked_against_their_population(
        write_spec: Callable[..., Path], value: str, words: str) -> None:
    """A count must be a whole-population share of LAs: ±1e308 crashed a fit after minutes
    while writing fit.json (issue #17); negative counts and counts above the population were
    fitted. Now each stops at reading with one line naming the file, the line and the value."""
    path = write_spec(GOOD_CSV.replace("2014-03-31,25,153", f"2014-03-31,{value},153"))
    message = error_of(path)
    assert "line 4: value" in message and words in message, message
    assert "\n" not in message


def test_an_observed_share_above_one_is_refused(write_spec: Callable[..., Path]) -> None:
    """A share of 60 (a percentage without value_scale) is refused with the fix."""
    path = write_spec("date,adopters\n2010,0.1\n2012,0.2\n2014,60\n2016,0.4\n",
                      extra_observed="")
    text = path.read_text(encoding="utf-8").replace('kind = "count"', 'kind = "share"')
    path.write_text(text, encoding="utf-8")
    message = error_of(path)
    assert "above 1 (for percentages set observed.value_scale = 0.01)" in message, message


def test_an_observed_file_must_be_a_regular_file_under_the_size_limit(
        write_spec: Callable[..., Path], tmp_path: Path) -> None:
    """A FIFO would block for ever and a huge file fill memory: both stop before reading, and
    a CSV parser error is one line (pandas' own message ends in a newline)."""
    import os

    from sim.experiments.calibration.observed import MAX_OBSERVED_BYTES

    path = write_spec(GOOD_CSV)
    observed = tmp_path / "observed.csv"
    observed.unlink()
    with observed.open("wb") as big:
        big.truncate(MAX_OBSERVED_BYTES + 1)  # sparse: nothing on disk
    assert "an observed file may be at most" in error_of(path)
    observed.unlink()
    if hasattr(os, "mkfifo"):
        os.mkfifo(observed)
        assert "is not a regular file" in error_of(path)
        observed.unlink()
    observed.write_text(GOOD_CSV.replace("2012-06,12,153", "2012-06,1,000,153"), encoding="utf-8")
    message = error_of(path)
    assert "cannot be read as CSV" in message and "\n" not in message, message
