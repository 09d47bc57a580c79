"""Robustness of candidate policies across futures: satisficing, regret, and where each fails.

``run.py robust SWEEP_FILE`` (docs/experiments.md §11) answers "which choice holds up best
whatever happens?" in the manner of robust decision making (Lempert, Popper & Bankes 2003;
the EMA Workbench, Kwakkel 2017):

1. **Candidates × futures.** Every candidate policy (:mod:`sim.experiments.candidates`) is run
   in every future — a design over the parameters marked as uncertainties (the sweep's
   ``design`` and ``samples``) — with the same replicates under common random numbers, so
   replicate r meets the same draws in every cell. The cells run through the sweep machinery
   (:func:`sim.experiments.sweep.run_design`: chunks, executors, resumable folder,
   ``results.parquet``), so the table is the same to the bit for any number of workers.
2. **A statistic per cell.** The target's statistic over the cell's replicates (e.g. the mean
   of ``viable_prob_y10``, the chance of being viable in year 10), and whether it meets the
   target (``viable_prob_y10>=0.8``).
3. **Robustness per candidate** (McPhail et al. 2018 call these a satisficing and a regret
   metric):

   * satisficing share — the share of futures in which the candidate meets the target
     (Simon 1956; Starr 1963 "domain criterion"), with a 90 % Wilson interval over futures;
   * regret in a future — the best candidate's statistic there minus this candidate's (for a
     ``<=`` target, this candidate's minus the lowest): what choosing it cost, in hindsight,
     in that future (Savage 1951); reported as its maximum, 90th percentile and mean over
     futures;
   * the mean statistic over futures.
4. **Where each fails.** The futures in which a candidate misses the target, and those in
   which it meets it, are each explained by one PRIM box (:func:`sim.experiments.discover.prim`)
   over the uncertainties, said in words by :mod:`sim.outputs.rules`.

References
----------
Savage, L. J. (1951). The theory of statistical decision. JASA 46(253), 55–67.
Simon, H. A. (1956). Rational choice and the structure of the environment. Psychological
Review 63(2), 129–138. doi:10.1037/h0042769
Lempert, R. J., Popper, S. W. & Bankes, S. C. (2003). Shaping the Next One Hundred Years. RAND
MR-1626. doi:10.7249/MR1626
Kwakkel, J. H. (2017). The Exploratory Modeling Workbench. Environmental Modelling & Software
96, 239–250. doi:10.1016/j.envsoft.2017.06.054
McPhail, C. et al. (2018). Robustness metrics: how are they calculated, when should they be
used and why do they give different results? Earth's Future 6(2), 169–191.
doi:10.1002/2017EF000649
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
JASA 22(158), 209–212. doi:10.1080/01621459.1927.10502953
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.stats import wilson_interval
from sim.experiments.candidates import CANDIDATE, RobustStudy
from sim.experiments.design import design_column, design_columns
from sim.experiments.discover import Box, prim
from sim.experiments.store import find_resumable, read_manifest, read_results
from sim.experiments.sweep import SweepRun, read_design, run_design
from sim.experiments.sweepfile import MAX_DESIGN_POINTS
from sim.experiments.threshold import Target, statistic
from sim.scenario import ScenarioError

__all__ = ["FUTURE", "KIND", "Explanation", "cell_table", "explain_futures", "futures_design",
           "regret", "robust_design", "robustness_table", "run_robust"]

KIND = "robust"
"""Folder prefix and manifest kind of a robust study."""
FUTURE = "future"
"""Design column numbering the futures (0, 1, …), the same in every candidate."""
CONFIDENCE = 0.90
"""Level of the satisficing share's Wilson interval."""


# --------------------------------------------------------------------------- the design


def futures_design(study: RobustStudy) -> pd.DataFrame:
    """The futures: column ``future`` and one per uncertainty, from the sweep's design (a grid
    of the uncertainties' levels, or ``samples`` points of random, lhs or sobol)."""
    spec = study.sweep.spec
    columns = design_columns(study.uncertainties, study.uncertainty_integer, spec.design,
                             int(spec.samples or 0), spec.seed)
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({FUTURE: np.arange(n, dtype=np.int64)})
    for path, values in columns.items():
        frame[path] = design_column(values)
    return frame


def robust_design(study: RobustStudy) -> pd.DataFrame:
    """Every candidate in every future, candidate-major: ``point`` = candidate × futures +
    future; columns ``point``, ``candidate``, ``future``, then the sweep's parameters."""
    futures = futures_design(study)
    cells = len(study.candidates) * len(futures)
    if cells > MAX_DESIGN_POINTS:
        raise ScenarioError(study.source, "samples", f"makes {len(study.candidates):,} "
                            f"candidates × {len(futures):,} futures = {cells:,} cells; the limit "
                            f"is {MAX_DESIGN_POINTS:,} (docs/experiments.md §2)")
    n = len(futures)
    frame = pd.DataFrame({"point": np.arange(cells, dtype=np.int64)})
    frame[CANDIDATE] = pd.Series([c.name for c in study.candidates for _ in range(n)],
                                 dtype="string")
    frame[FUTURE] = np.tile(futures[FUTURE].to_numpy(), len(study.candidates))
    uncertain = {p.path for p in study.uncertainties}
    for p in study.sweep.parameters:
        if p.path == CANDIDATE:
            continue
        if p.path in uncertain:
            frame[p.path] = np.tile(futures[p.path].to_numpy(), len(study.candidates))
        else:  # a test function's input set by the candidates (others take its default)
            from sim.experiments.testfunctions import TEST_FUNCTIONS

            default = TEST_FUNCTIONS[str(study.sweep.spec.test_function)].defaults[p.path]
            frame[p.path] = design_column([float(c.values.get(p.path, default))
                                           for c in study.candidates for _ in range(n)])
    return frame


def run_robust(study: RobustStudy, out_dir: Path, **kwargs: Any) -> SweepRun:
    """Run every candidate × future × replicate (options as for
    :func:`~sim.experiments.sweep.run_design`); write a ``robust-<name>-<time>`` folder."""
    if kwargs.get("resume") and find_resumable(out_dir, KIND, study.name) is not None:
        design = pd.DataFrame()  # replaced by the stored design
    else:
        design = robust_design(study)
    extra = {"robust": {
        "candidates": [{"name": c.name, "label": c.label, "source": c.source,
                        "values": dict(c.values)}
                       for c in study.candidates],
        "uncertainties": [p.path for p in study.uncertainties],
        "levers": [p.path for p in study.levers],
    }}
    return run_design(study.sweep, design, out_dir, kind=KIND, extra=extra, **kwargs)


# --------------------------------------------------------------------------- robustness


def regret(cells: pd.DataFrame, target: Target) -> np.ndarray:
    """Regret of each cell (float[n]): the best statistic in its future minus its own (for a
    ``<=``/``<`` target: its own minus the lowest). NaN where the statistic is NaN."""
    stat = cells["statistic"].to_numpy(dtype=float)
    by_future = cells.assign(_s=stat).groupby(FUTURE)["_s"]
    if target.op in (">=", ">"):
        best = by_future.transform("max").to_numpy(dtype=float)
        return best - stat
    best = by_future.transform("min").to_numpy(dtype=float)
    return stat - best


def cell_table(folder: Path, study: RobustStudy) -> pd.DataFrame:
    """One row per candidate × future: ``candidate``, ``future``, the uncertainties,
    ``statistic`` (the target's statistic over the replicates), ``meets_target``, ``regret``."""
    manifest = read_manifest(folder)
    replicates = int(manifest["replicates"])
    design = read_design(folder)
    kpi = study.target.kpi
    results = read_results(folder, columns=["point", "replicate", kpi]).to_pandas()
    results = results.sort_values(["point", "replicate"], kind="stable")
    values = results[kpi].to_numpy(dtype=float).reshape(-1, replicates)
    points = results["point"].to_numpy()[::replicates]
    columns = [CANDIDATE, FUTURE, *[p.path for p in study.uncertainties]]
    cells = design.set_index("point").loc[points, columns].reset_index()
    cells[CANDIDATE] = cells[CANDIDATE].astype(str)
    cells["statistic"] = statistic(values, study.target.statistic)
    cells["meets_target"] = study.target.holds(cells["statistic"].to_numpy())
    cells["regret"] = regret(cells, study.target)
    return cells


def robustness_table(cells: pd.DataFrame, order: Sequence[str],
                     confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Robustness of each candidate from its cells (``candidate``, ``statistic``,
    ``meets_target``, ``regret``), ranked: the highest satisficing share first, ties by the
    lowest maximum regret, then the lowest 90th-percentile and mean regret, then the order
    given.

    Columns: ``rank``, ``candidate``, ``futures``, ``futures_meeting_target``,
    ``satisficing_share`` with ``satisficing_low``/``satisficing_high`` (Wilson interval at
    ``confidence``), ``mean_statistic``, ``max_regret``, ``p90_regret``, ``mean_regret``,
    ``best_in_futures`` (futures where its regret is 0, ties counting for each).
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rows = []
    for position, name in enumerate(order):
        part = cells[cells[CANDIDATE] == name]
        n = len(part)
        met = int(part["meets_target"].sum())
        low, high = wilson_interval(met / n if n else math.nan, n, z)
        stat = part["statistic"].to_numpy(dtype=float)
        loss = part["regret"].to_numpy(dtype=float)
        loss = loss[~np.isnan(loss)]
        rows.append({
            "candidate": name, "futures": n, "futures_meeting_target": met,
            "satisficing_share": met / n if n else math.nan,
            "satisficing_low": low, "satisficing_high": high,
            "mean_statistic": float(np.nanmean(stat)) if (~np.isnan(stat)).any() else math.nan,
            "max_regret": float(loss.max()) if len(loss) else math.nan,
            "p90_regret": float(np.quantile(loss, 0.9)) if len(loss) else math.nan,
            "mean_regret": float(loss.mean()) if len(loss) else math.nan,
            "best_in_futures": int((loss == 0).sum()), "_order": position})
    table = pd.DataFrame(rows).sort_values(
        ["satisficing_share", "max_regret", "p90_regret", "mean_regret", "_order"],
        ascending=[False, True, True, True, True],
        na_position="last", kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.drop(columns="_order").reset_index(drop=True)


@dataclass(frozen=True)
class Explanation:
    """Where one candidate meets and misses the target, as PRIM boxes over the futures.

    ``fails``/``holds`` are None when the candidate misses (or meets) the target in every
    future, or never; ``futures`` counts the futures, ``failures`` those it misses.
    """

    candidate: str
    futures: int
    failures: int
    fails: Box | None
    holds: Box | None


def explain_futures(cells: pd.DataFrame, study: RobustStudy, *, alpha: float = 0.05,
                    min_support: float = 0.05, min_coverage: float = 0.5) -> list[Explanation]:
    """For each candidate, a PRIM box (:func:`sim.experiments.discover.prim`) over the
    uncertainties where it misses the target, and one where it meets it."""
    columns = [p.path for p in study.uncertainties]
    out = []
    for c in study.candidates:
        part = cells[cells[CANDIDATE] == c.name].reset_index(drop=True)
        met = part["meets_target"].to_numpy(dtype=bool)
        fails = holds = None
        if met.any() and not met.all():
            frame = part[columns]
            fails = prim(frame, ~met, columns, alpha=alpha, min_support=min_support,
                         min_coverage=min_coverage)
            holds = prim(frame, met, columns, alpha=alpha, min_support=min_support,
                         min_coverage=min_coverage)
        out.append(Explanation(c.name, len(part), int((~met).sum()), fails, holds))
    return out
