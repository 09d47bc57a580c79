"""Read an observed series for calibration, with errors that say how to fix the file.

Dates may be written ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (a bare year is given the spec's
``year_only_month``); each becomes a calendar month, and then a model month index counted from
the model's start. Values that the DfE marks as unavailable (``x``, ``z``, ``c``, ``u``,
``low``, blank, ``NA``) are dropped and listed; any other text that is not a number is an error.
"""

from __future__ import annotations

import difflib
import math
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.calibration.spec import CalibrationError, Observed
from sim.scenario.errors import shorten

__all__ = ["MAX_OBSERVED_BYTES", "MISSING_MARKERS", "ObservedSeries", "month_number",
           "month_text", "parse_date", "read_observed", "read_rows"]

MAX_OBSERVED_BYTES = 64 << 20
"""Largest observed CSV read (64 MiB; the shipped ones are under 300 KB)."""

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "x", "z", "c", "u", "low", ":", ".."})
"""Cell values read as "no value" (DfE symbols: x unavailable, z not applicable, c suppressed,
u low reliability, low rounds to 0)."""

FIRST_YEAR, LAST_YEAR = 1900, 2200
"""Years an observed date may fall in (the year 0000 crashed a fit's chart, issue #17)."""
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def month_number(year: int, month: int) -> int:
    """Months since January of year 0: a calendar month as one integer."""
    return 12 * year + (month - 1)


def month_text(number: int) -> str:
    """``YYYY-MM`` of a :func:`month_number`."""
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def parse_date(text: str, year_only_month: int = 7) -> int | None:
    """A date written ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` in the years
    :data:`FIRST_YEAR`–:data:`LAST_YEAR` as a month number, else None."""
    text = str(text).strip()
    match = _DATE.fullmatch(text)
    if not match:
        return None
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    month = int(match.group(2)) if match.group(2) else year_only_month
    if not 1 <= month <= 12:
        return None
    if match.group(3):
        day = int(match.group(3))
        days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31,
                30, 31, 31, 30, 31, 30, 31][month - 1]
        if not 1 <= day <= days:
            return None
    return month_number(year, month)


@dataclass(frozen=True)
class ObservedSeries:
    """Observed points, sorted by date.

    Attributes
    ----------
    file : the data file.
    lines : int[n], line number of each point in the file (the header is line 1).
    dates : the dates as written.
    months : int[n], calendar months (:func:`month_number`).
    values : float[n], values after ``value_scale``.
    population : float[n], LAs each count or share is out of (NaN for rates).
    weights : float[n], weights for weighted least squares (1 without a weight column).
    excluded : (line, date, value, reason) of points left out by the spec.
    dropped : (line, date, text) of points without a value.
    seed : (line, date, month, value, population) of a first point used only to set the
        initial adopters (``model.initial_adopters = "first_observation"``): it is not one of
        the points above, so it counts toward no fit measure and no minimum (issue #16).
    """

    file: Path
    lines: np.ndarray
    dates: tuple[str, ...]
    months: np.ndarray
    values: np.ndarray
    population: np.ndarray
    weights: np.ndarray
    excluded: list[tuple[int, str, float, str]] = field(default_factory=list)
    dropped: list[tuple[int, str, str]] = field(default_factory=list)
    seed: tuple[int, str, int, float, float] | None = None

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def first_month(self) -> int:
        """The calendar month of the first point, the seed included."""
        return self.seed[2] if self.seed is not None else int(self.months[0])

    def without_first(self) -> ObservedSeries:
        """The series with its first point moved to :attr:`seed`."""
        return replace(self, lines=self.lines[1:], dates=self.dates[1:], months=self.months[1:],
                       values=self.values[1:], population=self.population[1:],
                       weights=self.weights[1:],
                       seed=(int(self.lines[0]), self.dates[0], int(self.months[0]),
                             float(self.values[0]), float(self.population[0])))


def _number(text: str) -> float | None:
    try:
        value = float(str(text).strip().replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _out_of_range(kind: str, value: float, population: float) -> str:
    """Why an observed value (after ``value_scale``) cannot be, or "" if it can: counts are
    LAs out of their population, shares lie in [0, 1], and nothing is infinite or negative
    (issue #17: ±1e308 crashed a fit after minutes, and counts of −5 or 400 of 153 LAs were
    fitted)."""
    if not math.isfinite(value):
        return "is not finite after value_scale"
    if value < 0:
        return f"is negative ({value:g}); a {kind} cannot be"
    if kind == "count" and value > population:
        return f"is {value:g}, above its population of {population:g} LAs"
    if kind == "share" and value > 1:
        return (f"is a share of {value:g}, above 1 (for percentages set "
                "observed.value_scale = 0.01)")
    return ""


def _check_readable(path: Path, referrer: str) -> None:
    """An observed file must be a regular file of at most :data:`MAX_OBSERVED_BYTES` (a FIFO
    would block for ever, a device or a huge file would fill memory)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CalibrationError(str(path), "", f"file not found (named in {referrer})") from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise CalibrationError(str(path), "", f"cannot be read: {type(exc).__name__}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CalibrationError(str(path), "", "is not a regular file (a folder, device or FIFO "
                               "cannot be an observed series)")
    if info.st_size > MAX_OBSERVED_BYTES:
        raise CalibrationError(str(path), "", f"is {info.st_size:,} bytes; an observed file may "
                               f"be at most {MAX_OBSERVED_BYTES:,} bytes")


def read_rows(path: Path, columns: dict[str, str], referrer: str,
              filters: dict[str, str | int | float] | None = None,
              filter_key: str = "observed.filter") -> pd.DataFrame:
    """The file's rows as text, after filters, with the named columns checked.

    ``columns`` maps a spec key (``observed.date_column``) to the column it names.
    """
    _check_readable(path, referrer)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise CalibrationError(str(path), "", f"file not found (named in {referrer})") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        reason = shorten(" ".join(str(exc).split()), 300)  # pandas' messages end in "\n"
        raise CalibrationError(str(path), "", f"cannot be read as CSV: {reason}") from None
    present = list(table.columns)
    wanted = dict(columns)
    for name in (filters or {}):
        wanted[f"{filter_key}.{name}"] = name
    for key, name in wanted.items():
        if name not in present:
            close = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise CalibrationError(str(path), "", f"has no column '{name}' (named by {key}){hint}; "
                                   f"columns present: {', '.join(present) or 'none'}")
    table.insert(0, "_line", np.arange(len(table)) + 2)
    for name, value in (filters or {}).items():
        wanted_text = str(value)
        column = table[name].str.strip()
        numeric = _number(wanted_text)
        keep = column == wanted_text
        if numeric is not None:
            keep |= column.map(_number) == numeric
        table = table[keep]
    return table


def read_observed(observed: Observed, path: Path, referrer: str, *, min_points: int,
                  needed_for: str, default_population: float,
                  allow_repeated_dates: bool = False) -> ObservedSeries:
    """Read, check and sort the observed points.

    Parameters
    ----------
    observed : the spec's ``[observed]`` table.
    path : the data file.
    referrer : the spec file (named in messages about the spec).
    min_points : fewest usable points the fit needs; ``needed_for`` says why (in the message).
    default_population : LAs a count is out of when the spec gives no population.
    allow_repeated_dates : several rows may share a date (per-LA rows of a rate).

    Raises
    ------
    CalibrationError
        for a missing file or column, an unparseable date or value, repeated dates, an exclusion
        that matches no row, or too few points.
    """
    columns = {"observed.date_column": observed.date_column,
               "observed.value_column": observed.value_column}
    if observed.population_column:
        columns["observed.population_column"] = observed.population_column
    if observed.weight_column:
        columns["observed.weight_column"] = observed.weight_column
    table = read_rows(path, columns, referrer, observed.filter)
    if table.empty:
        rule = " after observed.filter" if observed.filter else ""
        raise CalibrationError(str(path), "", f"has no data rows{rule}; fitting needs at least "
                               f"{min_points} points ({needed_for})")
    exclusions = {e.date.strip(): e.reason for e in observed.exclude}
    used_exclusions: set[str] = set()
    rows: list[tuple[int, str, int, float, float, float]] = []
    excluded: list[tuple[int, str, float, str]] = []
    dropped: list[tuple[int, str, str]] = []
    for record in table.to_dict("records"):
        line = int(record["_line"])
        date_text = str(record[observed.date_column]).strip()
        month = parse_date(date_text, observed.year_only_month)
        if month is None:
            raise CalibrationError(str(path), "", f"line {line}: date {date_text!r} in column "
                                   f"'{observed.date_column}' is not a date; write YYYY, YYYY-MM "
                                   f"or YYYY-MM-DD, in {FIRST_YEAR}–{LAST_YEAR}")
        raw = str(record[observed.value_column]).strip()
        value = _number(raw)
        if value is None:
            if raw.lower() in MISSING_MARKERS:
                dropped.append((line, date_text, raw))
                continue
            raise CalibrationError(str(path), "", f"line {line}: value {raw!r} in column "
                                   f"'{observed.value_column}' is not a number")
        value *= observed.value_scale
        if date_text in exclusions:
            used_exclusions.add(date_text)
            excluded.append((line, date_text, value, exclusions[date_text]))
            continue
        population = math.nan
        if observed.kind != "rate":
            population = observed.population or default_population
            if observed.population_column:
                raw_pop = str(record[observed.population_column]).strip()
                pop = _number(raw_pop)
                if pop is not None and pop > 0:
                    population = pop
                elif raw_pop.lower() not in MISSING_MARKERS:
                    raise CalibrationError(str(path), "", f"line {line}: population {raw_pop!r} "
                                           f"in column '{observed.population_column}' is not a "
                                           "positive number")
        weight = 1.0
        if observed.weight_column:
            weight = _number(str(record[observed.weight_column])) or math.nan
            if not weight > 0:
                raise CalibrationError(str(path), "", f"line {line}: weight "
                                       f"{record[observed.weight_column]!r} in column "
                                       f"'{observed.weight_column}' is not a positive number")
        problem = _out_of_range(observed.kind, value, population)
        if problem:
            raise CalibrationError(str(path), "", f"line {line}: value {raw!r} in column "
                                   f"'{observed.value_column}' {problem}")
        rows.append((line, date_text, month, value, population, weight))
    for i, exclusion in enumerate(observed.exclude):
        if exclusion.date.strip() not in used_exclusions:
            raise CalibrationError(referrer, f"observed.exclude[{i}].date",
                                   f"matches no row of {path}, got {exclusion.date!r}")
    if not allow_repeated_dates:
        seen: dict[int, int] = {}
        for line, _date, month, *_ in rows:
            if month in seen:
                raise CalibrationError(str(path), "", f"lines {seen[month]} and {line} fall in the "
                                       f"same month ({month_text(month)}); keep one point per "
                                       "month, e.g. with [observed] filter = {column = \"value\"}")
            seen[month] = line
    if len(rows) < min_points:
        raise CalibrationError(str(path), "", f"has {len(rows)} usable point"
                               f"{'s' if len(rows) != 1 else ''} (after filters, exclusions and "
                               f"missing values); fitting needs at least {min_points} "
                               f"({needed_for})")
    rows.sort(key=lambda r: (r[2], r[0]))
    return ObservedSeries(
        file=path,
        lines=np.array([r[0] for r in rows]),
        dates=tuple(r[1] for r in rows),
        months=np.array([r[2] for r in rows]),
        values=np.array([r[3] for r in rows], dtype=float),
        population=np.array([r[4] for r in rows], dtype=float),
        weights=np.array([r[5] for r in rows], dtype=float),
        excluded=excluded,
        dropped=dropped,
    )
