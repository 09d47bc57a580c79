"""Global sensitivity analysis of a sweep with SALib: Sobol' indices or Morris screening, plus a
one-at-a-time (OAT) tornado table.

Steps (``run.py sensitivity SWEEP.toml --method sobol|morris``):

1. SALib samples the unit cube — Saltelli's scheme for Sobol' (``SALib.sample.sobol``), or
   Morris trajectories (``SALib.sample.morris``) — and each column is mapped through its
   parameter's distribution (:func:`sim.experiments.design.from_unit`), so any distribution of
   the sweep file works. The OAT points are added: every parameter at its base value, then each
   parameter alone at its low and at its high value.
2. Every point runs with the sweep's replicates through the sweep machinery
   (:func:`sim.experiments.sweep.run_design`): chunks, executors, resume, Parquet.
3. Each output — each KPI, and each time-series metric at each fiscal year end — is averaged
   over replicates per point and analysed: ``SALib.analyze.sobol`` (first-order ``S1``, total
   ``ST`` and second-order ``S2``, for KPIs and per fiscal year, each with a bootstrap
   confidence interval) or
   ``SALib.analyze.morris`` (``mu``, ``mu_star`` with its interval, ``sigma``).

With common random numbers (the default) every point shares its random draws, so the indices
describe the parameters' effect on the replicate mean, not Monte Carlo noise.

References
----------
Saltelli, A. (2002). Making best use of model evaluations to compute sensitivity indices.
Computer Physics Communications 145(2), 280–297. doi:10.1016/S0010-4655(02)00280-1
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output. Computer Physics
Communications 181(2), 259–270. doi:10.1016/j.cpc.2009.09.018
Morris, M. D. (1991). Factorial sampling plans for preliminary computational experiments.
Technometrics 33(2), 161–174. doi:10.1080/00401706.1991.10484804
Campolongo, F., Cariboni, J. & Saltelli, A. (2007). An effective screening design for
sensitivity analysis of large models. Environmental Modelling & Software 22(10), 1509–1518.
doi:10.1016/j.envsoft.2006.10.004
Herman, J. & Usher, W. (2017). SALib: an open-source Python library for sensitivity analysis.
Journal of Open Source Software 2(9), 97. doi:10.21105/joss.00097
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.design import design_column, from_unit
from sim.experiments.distributions import coerce, quantile
from sim.experiments.store import read_results
from sim.experiments.sweep import SweepRun, run_design
from sim.experiments.sweepfile import (
    MAX_DESIGN_POINTS,
    Parameter,
    Sweep,
    design_bytes,
    get_path,
    memory_text,
)
from sim.experiments.testfunctions import TEST_FUNCTIONS
from sim.files import atomic_write

__all__ = [
    "METHODS",
    "SensitivityResult",
    "analyse",
    "oat_points",
    "format_value",
    "run_sensitivity",
    "salib_unit_sample",
    "sensitivity_design",
]

METHODS = ("sobol", "morris")
SALIB_STREAM = zlib.crc32(b"salib")
UNBOUNDED_TAIL = 0.005
"""Morris grids reach u = 0 and 1: an unbounded normal is evaluated at its 0.5% and 99.5%
quantiles there instead of at ±∞."""


def _problem(sweep: Sweep) -> dict[str, Any]:
    """SALib's problem on the unit cube (distributions are applied afterwards)."""
    return {"num_vars": len(sweep.parameters), "names": sweep.paths,
            "bounds": [[0.0, 1.0]] * len(sweep.parameters)}


def salib_unit_sample(sweep: Sweep, method: str, samples: int | None = None) -> np.ndarray:
    """SALib's sample on [0, 1]^d: Saltelli for ``sobol``, trajectories for ``morris``."""
    settings = sweep.spec.sensitivity
    n = samples or settings.samples
    d = len(sweep.parameters)
    points = (n * (2 * d + 2 if settings.second_order else d + 2) if method == "sobol"
              else (settings.trajectories or n) * (d + 1))
    if points > MAX_DESIGN_POINTS:  # sized before SALib builds it
        raise ValueError(f"makes a design of {points:,} points, about "
                         f"{memory_text(design_bytes(points, d))} of memory to build; the limit "
                         f"is {MAX_DESIGN_POINTS:,} points (docs/experiments.md §2), got {n:,}")
    # An integer seed (derived, not the sweep seed itself) works with every SALib version.
    rng = int(np.random.SeedSequence(sweep.spec.seed, spawn_key=(SALIB_STREAM,))
              .generate_state(1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns about N not a power of 2 etc.
        if method == "sobol":
            from SALib.sample import sobol

            if n & (n - 1):
                raise ValueError(f"Sobol' samples must be a power of 2 (e.g. "
                                 f"{1 << max(1, n.bit_length() - 1)}), got {n}")
            return sobol.sample(_problem(sweep), n, calc_second_order=settings.second_order,
                                seed=rng)
        if method == "morris":
            from SALib.sample import morris

            return morris.sample(_problem(sweep), settings.trajectories or n,
                                 num_levels=settings.levels, seed=rng)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def _map_columns(sweep: Sweep, unit: np.ndarray) -> dict[str, list[Any]]:
    columns = {}
    for j, (p, integer) in enumerate(zip(sweep.parameters, sweep.integer, strict=True)):
        u = unit[:, j]
        if p.kind == "normal" and (p.low is None or p.high is None):
            u = np.clip(u, UNBOUNDED_TAIL, 1 - UNBOUNDED_TAIL)
        columns[p.path] = from_unit(p, u, integer)
    return columns


def base_value(sweep: Sweep, index: int) -> Any:
    """The parameter's value in the base scenario (or the test function's default)."""
    p = sweep.parameters[index]
    if sweep.spec.test_function is not None:
        return TEST_FUNCTIONS[sweep.spec.test_function].defaults[p.path]
    value = get_path(sweep.base_data, p.path)
    return coerce(value, sweep.integer[index])


def low_high(param: Parameter, integer: bool) -> tuple[Any, Any]:
    """The OAT low and high: the range ends (uniform, triangular, bounded normal), the 5% and
    95% quantiles of an unbounded normal, or the first and last choice."""
    if param.kind == "choice":
        values = list(param.values or ())
        return values[0], values[-1]
    if param.kind == "normal" and (param.low is None or param.high is None):
        return coerce(float(quantile(param, 0.05)), integer), coerce(float(quantile(param, 0.95)),
                                                                     integer)
    if param.low is None or param.high is None:
        raise ValueError(f"{param.path}: a {param.kind} distribution needs low and high")
    return coerce(float(param.low), integer), coerce(float(param.high), integer)


def oat_points(sweep: Sweep) -> dict[str, list[Any]]:
    """Columns of the OAT design: the base point, then each parameter low, then high."""
    base = [base_value(sweep, i) for i in range(len(sweep.parameters))]
    rows = [list(base)]
    for i, (p, integer) in enumerate(zip(sweep.parameters, sweep.integer, strict=True)):
        for value in low_high(p, integer):
            row = list(base)
            row[i] = value
            rows.append(row)
    return {p.path: [r[j] for r in rows] for j, p in enumerate(sweep.parameters)}


def sensitivity_design(sweep: Sweep, method: str, samples: int | None = None
                       ) -> tuple[pd.DataFrame, np.ndarray]:
    """The design table (SALib points, then OAT points) and SALib's unit sample."""
    unit = salib_unit_sample(sweep, method, samples)
    columns = _map_columns(sweep, unit)
    oat = oat_points(sweep)
    n = len(unit) + len(next(iter(oat.values())))
    frame = pd.DataFrame({"point": np.arange(n, dtype=np.int64)})
    for path in sweep.paths:
        values = columns[path] + oat[path]
        if any(isinstance(v, float) for v in values):
            values = [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                      for v in values]
        frame[path] = design_column(values)
    return frame, unit


# --------------------------------------------------------------------------- analysis


@dataclass
class SensitivityResult:
    """Indices (tidy), the tornado table, and where they were written.

    Attributes
    ----------
    skipped : outputs not analysed, with the reason.
    files : the table files written.
    chart_meta : what the charts name besides the tables: sweep, method, samples, points,
        replicates, seed, version, parameter labels (key path → words), KPIs and metrics, and
        the KPI of the tornado chart.
    """

    method: str
    run: SweepRun
    indices: pd.DataFrame
    tornado: pd.DataFrame
    skipped: dict[str, str]
    files: list[Path]
    chart_meta: dict[str, Any]


def _outputs(sweep: Sweep, fiscal_years: Sequence[str]) -> list[tuple[str, str | None, str]]:
    """(column, fiscal year or None, output name) for every analysed output."""
    out: list[tuple[str, str | None, str]] = [(k, None, k) for k in sweep.kpis]
    out += [(f"{m}_{fy}", fy, m) for m in sweep.metrics for fy in fiscal_years]
    return out


def _point_means(folder: Path, columns: list[str]) -> pd.DataFrame:
    table = read_results(folder, columns=["point", *columns]).to_pandas()
    return table.groupby("point", sort=True)[columns].mean()


def analyse(sweep: Sweep, method: str, unit: np.ndarray, means: pd.DataFrame,
            fiscal_years: Sequence[str], settings: Any = None
            ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Indices for every output, as a tidy table; and the outputs skipped, with the reason.

    Columns: ``output``, ``fiscal_year`` (empty for KPIs), ``parameter``, ``parameter_2`` (S2
    only), ``index``, ``estimate``, ``conf`` (half-width of the interval), ``ci_low``,
    ``ci_high``, ``confidence``.
    """
    settings = settings or sweep.spec.sensitivity
    problem = _problem(sweep)
    names = sweep.paths
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    n = len(unit)
    for column, fy, output in _outputs(sweep, fiscal_years):
        y = means[column].to_numpy(dtype=float)[:n]
        label = column
        if np.isnan(y).any():
            skipped[label] = (f"undefined (NaN) in every replicate at {int(np.isnan(y).sum())} "
                              f"of {n} points")
            continue
        if np.ptp(y) == 0:
            skipped[label] = "the same at every point"
            continue
        seed = int(zlib.crc32(column.encode()))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if method == "sobol":
                from SALib.analyze import sobol

                second = settings.second_order  # for KPIs and for each fiscal year alike
                result = sobol.analyze(problem, y, calc_second_order=second,
                                       num_resamples=settings.bootstrap,
                                       conf_level=settings.confidence, seed=seed)
                for i, name in enumerate(names):
                    for index in ("S1", "ST"):
                        rows.append(_row(output, fy, name, None, index, result[index][i],
                                         result[f"{index}_conf"][i], settings.confidence))
                if second:
                    for i in range(len(names)):
                        for j in range(i + 1, len(names)):
                            rows.append(_row(output, fy, names[i], names[j], "S2",
                                             result["S2"][i, j], result["S2_conf"][i, j],
                                             settings.confidence))
            else:
                from SALib.analyze import morris

                result = morris.analyze(problem, unit, y, num_resamples=settings.bootstrap,
                                        conf_level=settings.confidence,
                                        num_levels=settings.levels, seed=seed)
                for i, name in enumerate(names):
                    rows.append(_row(output, fy, name, None, "mu", result["mu"][i], np.nan,
                                     settings.confidence))
                    rows.append(_row(output, fy, name, None, "mu_star", result["mu_star"][i],
                                     result["mu_star_conf"][i], settings.confidence))
                    rows.append(_row(output, fy, name, None, "sigma", result["sigma"][i], np.nan,
                                     settings.confidence))
    return pd.DataFrame(rows, columns=["output", "fiscal_year", "parameter", "parameter_2",
                                       "index", "estimate", "conf", "ci_low", "ci_high",
                                       "confidence"]), skipped


def _row(output: str, fy: str | None, parameter: str, parameter_2: str | None, index: str,
         estimate: float, conf: float, level: float) -> dict[str, Any]:
    estimate, conf = float(estimate), float(conf)
    return {"output": output, "fiscal_year": fy or "", "parameter": parameter,
            "parameter_2": parameter_2 or "", "index": index, "estimate": estimate, "conf": conf,
            "ci_low": estimate - conf, "ci_high": estimate + conf, "confidence": level}


def tornado_table(sweep: Sweep, means: pd.DataFrame, first_oat_point: int) -> pd.DataFrame:
    """One row per KPI and parameter: the KPI's replicate mean at the base point and with the
    parameter alone at its low and high value; ``swing`` = |high − low|."""
    oat = oat_points(sweep)
    rows = []
    base_row = first_oat_point
    for kpi in sweep.kpis:
        base = float(means.loc[base_row, kpi])
        for i, p in enumerate(sweep.parameters):
            low_point, high_point = base_row + 1 + 2 * i, base_row + 2 + 2 * i
            low, high = float(means.loc[low_point, kpi]), float(means.loc[high_point, kpi])
            rows.append({"kpi": kpi, "parameter": p.path, "label": p.name,
                         "base_value": oat[p.path][0], "low_value": oat[p.path][1 + 2 * i],
                         "high_value": oat[p.path][2 + 2 * i], "kpi_base": base,
                         "kpi_low": low, "kpi_high": high, "swing": abs(high - low)})
    frame = pd.DataFrame(rows)
    for column in ("base_value", "low_value", "high_value"):
        frame[column] = [format_value(path, v)
                         for path, v in zip(frame["parameter"], frame[column], strict=True)]
    return frame


def format_value(path: str, value: Any) -> str:
    """A parameter value as text: ``£7,500``, ``36``, ``0.38``, ``gall``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return str(value)
    if "gbp" in path:
        return f"£{value:,.0f}"
    number = float(value)
    if number.is_integer() and abs(number) >= 1:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _write_table(frame: pd.DataFrame, stem: Path) -> list[Path]:
    """``<stem>.csv`` and ``<stem>.parquet``, each written atomically."""
    return [atomic_write(stem.with_suffix(".csv"), lambda tmp: frame.to_csv(tmp, index=False)),
            atomic_write(stem.with_suffix(".parquet"),
                         lambda tmp: frame.to_parquet(tmp, index=False))]


def run_sensitivity(sweep: Sweep, method: str, out_dir: Path, *, samples: int | None = None,
                    **kwargs: Any) -> SensitivityResult:
    """Sample, run (resumable, on any executor), analyse, and write the tables.

    Writes ``indices`` and ``tornado`` as CSV and Parquet into the sweep folder; the charts are
    drawn from the returned tables (:func:`sim.outputs.sensitivity_charts.write_sensitivity_charts`
    with :attr:`SensitivityResult.chart_meta`). ``kwargs`` go to
    :func:`~sim.experiments.sweep.run_design` (executor, chunk_size, resume, progress, las,
    command).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    settings = sweep.spec.sensitivity
    n = samples or settings.samples
    design, unit = sensitivity_design(sweep, method, n)  # sized before SALib builds it
    extra = {"method": method, "samples": n, "salib_points": len(unit),
             "second_order": bool(settings.second_order) if method == "sobol" else None,
             "levels": settings.levels if method == "morris" else None}
    run = run_design(sweep, design, out_dir, kind=f"sensitivity-{method}", extra=extra, **kwargs)
    fiscal_years = list(run.manifest.get("fiscal_years", []))
    columns = [c for c, _, _ in _outputs(sweep, fiscal_years)]
    means = _point_means(run.folder, columns)
    indices, skipped = analyse(sweep, method, unit, means, fiscal_years)
    tornado = tornado_table(sweep, means, len(unit))
    files = [*_write_table(indices, run.folder / "indices"),
             *_write_table(tornado, run.folder / "tornado")]
    chart_meta = {"sweep": sweep.name, "method": method, "samples": n, "points": run.points,
                  "replicates": run.replicates, "seed": sweep.spec.seed,
                  "labels": {p.path: p.name for p in sweep.parameters},
                  "tornado_kpi": settings.tornado_kpi or sweep.kpis[0],
                  "kpis": list(sweep.kpis), "metrics": list(sweep.metrics),
                  "version": run.manifest.get("version", "")}
    return SensitivityResult(method=method, run=run, indices=indices, tornado=tornado,
                             skipped=skipped, files=files, chart_meta=chart_meta)
