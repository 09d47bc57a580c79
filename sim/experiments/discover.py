"""Scenario discovery: the conditions under which an outcome holds, found as PRIM boxes.

``run.py discover SWEEP_RESULTS --kpi survival_prob_y10 --threshold 0.8`` marks each run (or,
with ``--by point``, each design point's replicate mean) as a *case of interest* when the KPI
is at or above the threshold (``--below``: at or below), then finds a box — a range for each of
a few parameters — where cases are dense, with PRIM, the Patient Rule Induction Method:

1. **Peeling.** Start from the box holding every row. At each step try removing the ``alpha``
   (default 5%) of the rows in the box with the lowest, or the highest, value of one numeric
   column, or the rows of one category of a categorical column; keep the peel with the largest
   gain in the share of cases per row removed (so a category, which may hold far more than
   ``alpha`` of the box, is peeled only when it earns it). Stop when the box holds fewer than
   ``min_support`` of all rows. The boxes met on the way form the *peeling trajectory*.
2. **Choosing.** Among the boxes on the trajectory whose *coverage* (share of all cases that
   fall in the box) is at least ``min_coverage``, find the highest *density* (share of the
   box's rows that are cases); then take the largest box whose density is within two standard
   errors of it (peeling past the real box raises the density a little by chance alone).
3. **Tidying.** Drop, one at a time, every condition (a category restriction, or one end of a
   range) whose removal lowers the density by less than one standard error, so a rule names only
   conditions that matter.

With ``boxes`` > 1 the rows of the first box are removed and the search repeats (covering).

Density, coverage and support are reported for each box. This module computes the boxes; the
words are the outputs layer's (:mod:`sim.outputs.rules`), e.g. "survives to year 10 in 91% of
runs when grant end month ≥ 48 and subscription £/year ≤ 9,000".

References
----------
Friedman, J. H. & Fisher, N. I. (1999). Bump hunting in high-dimensional data. Statistics and
Computing 9(2), 123–143. doi:10.1023/A:1008894516817
Kwakkel, J. H. (2017). The Exploratory Modeling Workbench: an open source toolkit for exploratory
modeling, scenario discovery, and (multi-objective) robust decision making. Environmental
Modelling & Software 96, 239–250. doi:10.1016/j.envsoft.2017.06.054
Bryant, B. P. & Lempert, R. J. (2010). Thinking inside the box: a participatory, computer-assisted
approach to scenario discovery. Technological Forecasting and Social Change 77(1), 34–49.
doi:10.1016/j.techfore.2009.08.002
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Box", "Discovery", "Restriction", "discover", "load_discovery_table", "prim"]


@dataclass(frozen=True)
class Restriction:
    """One condition of a box: a numeric range, or a set of allowed categories."""

    column: str
    low: float | None = None
    high: float | None = None
    categories: tuple[Any, ...] | None = None


@dataclass
class Box:
    """A box found by PRIM, with its statistics over the rows it was found on."""

    restrictions: list[Restriction]
    density: float
    coverage: float
    support: float
    rows: int
    cases: int
    trajectory: list[tuple[float, float, float]] = field(default_factory=list)
    """(coverage, density, support) of every box on the peeling trajectory."""


def _mask(frame: pd.DataFrame, restrictions: Sequence[Restriction]) -> np.ndarray:
    inside = np.ones(len(frame), dtype=bool)
    for r in restrictions:
        values = frame[r.column]
        if r.categories is not None:
            inside &= values.isin(r.categories).to_numpy()
        else:
            x = values.to_numpy(dtype=float)
            if r.low is not None:
                inside &= x >= r.low
            if r.high is not None:
                inside &= x <= r.high
    return inside


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _merge(restrictions: Sequence[Restriction], new: Restriction) -> list[Restriction]:
    out = [r for r in restrictions if r.column != new.column]
    old = next((r for r in restrictions if r.column == new.column), None)
    if old is not None and new.categories is None:
        low = new.low if new.low is not None else old.low
        high = new.high if new.high is not None else old.high
        new = Restriction(new.column, low=low, high=high)
    return [*out, new]


def _loosenings(restrictions: Sequence[Restriction]) -> list[list[Restriction]]:
    """Every way to drop one condition: a whole restriction, or one end of a two-sided range."""
    out = []
    for r in restrictions:
        rest = [s for s in restrictions if s is not r]
        out.append(rest)
        if r.categories is None and r.low is not None and r.high is not None:
            out.append([*rest, Restriction(r.column, low=r.low)])
            out.append([*rest, Restriction(r.column, high=r.high)])
    return out


def _peels(frame: pd.DataFrame, y: np.ndarray, inside: np.ndarray, columns: Sequence[str],
           alpha: float) -> list[tuple[Restriction, np.ndarray]]:
    """Candidate peels of the current box: (restriction added, rows left inside)."""
    out = []
    for column in columns:
        series = frame[column]
        if _numeric(series):
            x = series.to_numpy(dtype=float)
            xs = np.sort(x[inside])
            if xs.size < 2 or xs[0] == xs[-1]:
                continue
            k = max(1, int(math.ceil(alpha * xs.size))) - 1
            # Lower peel: drop at least the alpha share of lowest values (ties go together).
            low = xs[k]
            if low == xs[0]:
                low = xs[xs > xs[0]][0]
            out.append((Restriction(column, low=float(low)), inside & (x >= low)))
            high = xs[xs.size - 1 - k]
            if high == xs[-1]:
                high = xs[xs < xs[-1]][-1]
            out.append((Restriction(column, high=float(high)), inside & (x <= high)))
        else:
            values = series.to_numpy()
            present = pd.unique(values[inside])
            if len(present) < 2:
                continue
            for category in present:
                keep = tuple(v for v in present if v != category)
                out.append((Restriction(column, categories=keep),
                            inside & pd.Series(values).isin(keep).to_numpy()))
    return out


def prim(frame: pd.DataFrame, y: np.ndarray, columns: Sequence[str], *, alpha: float = 0.05,
         min_support: float = 0.05, min_coverage: float = 0.5) -> Box:
    """One PRIM box for the boolean outcome ``y`` over ``columns`` of ``frame``.

    Parameters
    ----------
    frame : one row per case (run or design point).
    y : bool[n], whether each row is a case of interest.
    alpha : share of the box's rows peeled at each step.
    min_support : stop peeling when the box holds less than this share of all rows.
    min_coverage : the chosen box must hold at least this share of all cases.
    """
    y = np.asarray(y, dtype=bool)
    n, total_cases = len(y), int(y.sum())
    inside = np.ones(n, dtype=bool)
    restrictions: list[Restriction] = []
    trajectory = [(list(restrictions), inside.copy())]
    while inside.sum() >= max(2, min_support * n):
        best = None
        rows_now, density_now = int(inside.sum()), float(y[inside].mean())
        for restriction, keep in _peels(frame, y, inside, columns, alpha):
            count = int(keep.sum())
            if count < max(1, min_support * n):
                continue
            # Gain in density per row peeled, not the plain box mean of Friedman & Fisher: a
            # categorical peel may remove far more than alpha of the box, and must earn it
            # (like the "lenient" objectives of the EMA Workbench, Kwakkel 2017).
            gain = (float(y[keep].mean()) - density_now) / max(rows_now - count, 1)
            key = (gain, count)
            if best is None or key > best[0]:
                best = (key, restriction, keep)
        if best is None:
            break
        _, restriction, inside = best
        restrictions = _merge(restrictions, restriction)
        trajectory.append((list(restrictions), inside.copy()))

    def stats(mask: np.ndarray) -> tuple[float, float, float]:
        rows = int(mask.sum())
        cases = int(y[mask].sum())
        return (cases / total_cases if total_cases else 0.0, cases / rows if rows else 0.0,
                rows / n if n else 0.0)

    summary = [stats(mask) for _, mask in trajectory]
    eligible = [i for i, (cov, _, _) in enumerate(summary) if cov >= min_coverage] or [0]
    densest = max(eligible, key=lambda i: (summary[i][1], summary[i][0]))
    # Peeling on past the real box can raise the density a little by chance: take the largest
    # eligible box whose density is within two standard errors of the densest one's.
    p_best = summary[densest][1]
    rows_best = max(1, int(trajectory[densest][1].sum()))
    floor = p_best - 2 * math.sqrt(p_best * (1 - p_best) / rows_best)
    chosen = min(i for i in eligible if summary[i][1] >= floor)
    restrictions, mask = trajectory[chosen]
    # Tidy: drop conditions whose removal costs less than one standard error of density,
    # the least useful first.
    changed = True
    while changed and restrictions:
        changed = False
        density, rows = stats(mask)[1], max(1, int(mask.sum()))
        floor = density - math.sqrt(density * (1 - density) / rows)
        options = []
        for rest in _loosenings(restrictions):
            wider = _mask(frame, rest)
            if stats(wider)[1] >= floor:
                options.append((stats(wider)[1], rest, wider))
        if options:
            _, restrictions, mask = max(options, key=lambda o: o[0])
            changed = True
    coverage, density, support = stats(mask)
    return Box(restrictions=restrictions, density=density, coverage=coverage, support=support,
               rows=int(mask.sum()), cases=int(y[mask].sum()), trajectory=summary)


# --------------------------------------------------------------------------- discovery


@dataclass
class Discovery:
    """Boxes found for one outcome, and what is needed to say them in words.

    Attributes
    ----------
    kpi, threshold, below, by : the outcome asked about (``by``: ``run`` or ``point``).
    rows, cases : rows analysed (runs or design points) and rows where the outcome holds.
    boxes : the PRIM boxes, the first found first.
    unit : ``runs`` or ``design points``.
    binary : whether the KPI is 0 or 1 in every row (a chance, such as survival).
    labels : the sweep's words for its parameters (key path → label, else the key path).
    """

    kpi: str
    threshold: float
    below: bool
    by: str
    rows: int
    cases: int
    boxes: list[Box]
    unit: str
    binary: bool
    labels: dict[str, str]


def load_discovery_table(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The results table of a sweep folder (or a Parquet file) and the folder's manifest."""
    from sim.experiments.store import MANIFEST, read_manifest, read_results

    path = Path(path)
    table = read_results(path).to_pandas()
    folder = path if path.is_dir() else path.parent
    manifest = read_manifest(folder) if (folder / MANIFEST).is_file() else {}
    return table, manifest


def discover(table: pd.DataFrame, manifest: Mapping[str, Any], kpi: str, threshold: float, *,
             below: bool = False, by: str = "run", extra_columns: Sequence[str] = (),
             boxes: int = 1, alpha: float = 0.05, min_support: float = 0.05,
             min_coverage: float = 0.5) -> Discovery:
    """Find up to ``boxes`` PRIM boxes where ``kpi`` ≥ ``threshold`` (≤ with ``below``).

    Conditions are on the sweep's parameters plus ``extra_columns`` of the table (e.g.
    ``las_member_fy2028_29``). ``by="point"`` uses each design point's replicate mean.

    Raises
    ------
    ValueError
        For an unknown column or an outcome that never (or always) holds.
    """
    parameters = [p["path"] for p in manifest.get("parameters", [])] or [
        c for c in table.columns if "." in c]
    labels = {path: path for path in parameters}
    labels.update({p["path"]: p.get("label") or p["path"] for p in manifest.get("parameters", [])})
    for column in [kpi, *extra_columns]:
        if column not in table.columns:
            close = difflib.get_close_matches(column, list(table.columns), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"{column} is not a column of the results{hint}")
    columns = list(dict.fromkeys([*parameters, *extra_columns]))
    if by == "point":
        means = table.groupby("point", sort=True)[[kpi, *extra_columns]].mean()
        firsts = table.groupby("point", sort=True)[parameters].first()
        frame = pd.concat([firsts, means], axis=1).reset_index()
        unit = "design points"
    elif by == "run":
        frame = table
        unit = "runs"
    else:
        raise ValueError(f"by must be 'run' or 'point', got {by!r}")
    names = manifest.get("scenarios") or {}
    if names and "scenario" in frame.columns:  # a scenario factor: rules name each model
        frame = frame.assign(scenario=frame["scenario"].astype(str).map(
            lambda file: names.get(file, file)))
    values = frame[kpi].to_numpy(dtype=float)
    defined = ~np.isnan(values)
    frame = frame[defined].reset_index(drop=True)
    values = values[defined]
    if not len(values):
        raise ValueError(f"{kpi} is undefined (NaN) in every {unit[:-1]}")
    y = values <= threshold if below else values >= threshold
    if y.all() or not y.any():
        name = kpi if by == "run" else f"mean {kpi}"
        raise ValueError(f"{name} {'≤' if below else '≥'} {threshold:g} holds in "
                         f"{'every' if y.all() else 'no'} {unit[:-1]} ({len(y):,} {unit}): "
                         "there is nothing to discover")
    found: list[Box] = []
    remaining = np.ones(len(frame), dtype=bool)
    for _ in range(max(1, boxes)):
        sub = frame[remaining].reset_index(drop=True)
        y_sub = y[remaining]
        if not y_sub.any() or y_sub.all():
            break
        box = prim(sub, y_sub, columns, alpha=alpha, min_support=min_support,
                   min_coverage=min_coverage)
        found.append(box)
        if not box.restrictions:
            break
        inside = _mask(sub, box.restrictions)
        index = np.flatnonzero(remaining)
        remaining[index[inside]] = False
    return Discovery(kpi=kpi, threshold=threshold, below=below, by=by, rows=len(y),
                     cases=int(y.sum()), boxes=found, unit=unit,
                     binary=set(np.unique(values)) <= {0.0, 1.0}, labels=labels)
