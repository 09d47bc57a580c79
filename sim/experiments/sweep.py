"""Run a sweep: every design point × replicate, in chunks, on any executor; resumable.

Determinism
-----------
A design point's replicates are simulated from the streams keyed by (sweep seed, point, block,
mechanism, month) — or, with common random numbers (the default), by (sweep seed, block,
mechanism, month), the same streams for every point, exactly those of ``run.py run --seed S``.
Nothing about a worker, a chunk or a previous attempt enters a key, so the result table is the
same to the bit whatever the number of workers, the chunk size, the executor, or whether the
sweep was interrupted and resumed.

Work units
----------
A chunk is ``chunk_size`` consecutive design points with all their replicates. Each finished
chunk comes back to this process as a small column table and is written at once as
``chunks/part-<chunk>.parquet``; at most two chunks per worker are in flight, so memory is flat
however many runs a sweep has. When every chunk exists the chunks are concatenated, one at a
time, into ``results.parquet``.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.data import LAPopulation, load_la_population
from sim.experiments.executors import Executor, SerialExecutor
from sim.experiments.runner import (
    Chunk,
    PointError,
    SweepContext,
    fiscal_year_columns,
    run_chunk,
    stackable,
)
from sim.experiments.store import (
    CHUNK_DIR,
    DESIGN,
    MANIFEST,
    RESULTS,
    combine_chunks,
    done_chunks,
    find_resumable,
    new_sweep_folder,
    read_manifest,
    write_chunk,
)
from sim.experiments.sweepfile import Sweep
from sim.files import atomic_write, write_json, write_text
from sim.scenario import resolved_toml

__all__ = [
    "Chunk",
    "SweepContext",
    "SweepError",
    "SweepInterrupted",
    "SweepRun",
    "default_chunk_size",
    "fiscal_year_columns",
    "read_design",
    "run_chunk",
    "run_design",
    "run_sweep",
]

TARGET_CHUNK_WORK = 5000
"""Work per chunk in replicate-equivalents (about two seconds on one core)."""
POINT_OVERHEAD = 100
"""Fixed cost of one design point (building and simulating it) in replicate-equivalents."""


class SweepError(Exception):
    """A sweep cannot run or continue; the message says why and what to do."""


class SweepInterrupted(SweepError):
    """Stopped by Ctrl-C; the chunks already written are kept."""

    def __init__(self, folder: Path, done: int, total: int):
        self.folder, self.done, self.total = folder, done, total
        super().__init__(f"interrupted: {done} of {total} chunks written to {folder}")


# --------------------------------------------------------------------------- the parent side


def default_chunk_size(points: int, replicates: int, horizon_months: int, workers: int,
                       test_function: bool = False, stacked: bool = False) -> int:
    """Design points per chunk: about two seconds of work, and at least four chunks per
    worker when there are enough points. Stacked points (sharing batches) have no fixed cost
    of their own."""
    spread = max(1, math.ceil(points / (4 * max(workers, 1))))
    if test_function:
        return spread
    work = ((0 if stacked else POINT_OVERHEAD) + replicates) * horizon_months / 120
    return max(1, min(spread, int(TARGET_CHUNK_WORK // max(work, 1))))


@dataclass
class SweepRun:
    """What a call to :func:`run_design` did."""

    folder: Path
    results: Path
    points: int
    replicates: int
    chunks: int
    chunks_run: int
    seconds: float
    resumed: bool
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return self.points * self.replicates


def _arrow_table(columns: Mapping[str, np.ndarray],
                 design_types: Mapping[str, pa.DataType]) -> pa.Table:
    arrays = {}
    for name, values in columns.items():
        if name in design_types:
            kind = design_types[name]
            arrays[name] = pa.array([str(v) for v in values] if pa.types.is_string(kind)
                                    else values, type=kind)
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def _chunks(design: pd.DataFrame, paths: Sequence[str], chunk_size: int,
            todo: set[int]) -> Iterator[Chunk]:
    points = design["point"].to_numpy()
    columns = [design[p].tolist() for p in paths]
    for index in sorted(todo):
        a, b = index * chunk_size, min((index + 1) * chunk_size, len(points))
        yield Chunk(index=index, points=tuple(int(p) for p in points[a:b]),
                    values=tuple(tuple(col[i] for col in columns) for i in range(a, b)))


def _progress(total: int, initial: int, label: str, enabled: bool) -> Any:
    from tqdm import tqdm

    class Bar(tqdm):  # type: ignore[type-arg]
        # No monitor thread (it only tunes how often a stalled bar redraws): with a thread
        # running, the pool would spawn its workers instead of forking them (start_method).
        monitor_interval = 0

    return Bar(total=total, initial=initial, unit=" runs", unit_scale=total >= 10_000,
                desc=label, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                smoothing=0.05,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs "
                           "[{elapsed}<{remaining}, {rate_fmt}]")


def run_design(sweep: Sweep, design: pd.DataFrame, out_dir: Path, *, kind: str = "sweep",
               executor: Executor | None = None, chunk_size: int | None = None,
               resume: bool = False, progress: bool = False, extra: Mapping[str, Any] | None = None,
               las: LAPopulation | None = None, command: Sequence[str] = (),
               uncertainty: Sequence[Any] = ()) -> SweepRun:
    """Run every point of ``design`` with the sweep's replicates; write a sweep folder.

    Parameters
    ----------
    sweep : the validated sweep.
    design : the design table (``point`` and one column per parameter), e.g. :func:`build_design`.
    out_dir : folder under which the sweep folder is made (or found, with ``resume``).
    kind : folder prefix and manifest kind (``sweep``, ``sensitivity-sobol`` …).
    executor : where to run (default: this process).
    chunk_size : design points per chunk (default :func:`default_chunk_size`; a resumed sweep
        keeps the chunk size it started with).
    resume : continue the newest folder of this sweep under ``out_dir``, running only its
        missing chunks (a new folder is made if there is none).
    extra : more manifest entries (they must match on resume).
    uncertainty : calibrated parameter distributions (``--parameter-uncertainty``) drawn per
        group of replicates at every point; recorded in the manifest and checked on resume.
    """
    executor = executor or SerialExecutor()
    extra = dict(extra or {})
    if uncertainty:
        drawn = {p for d in uncertainty for p in d.model_paths}
        clash = sorted(drawn & set(sweep.paths))
        if clash:
            raise SweepError(f"{sweep.source}: parameters {clash} are both varied by the sweep and "
                             "drawn from a calibrated distribution (--parameter-uncertainty); "
                             "remove one of the two")
        extra["parameter_uncertainty"] = [
            {"file": str(d.source), "parameters": list(d.paths),
             "samples_sha256": hashlib.sha256(np.ascontiguousarray(d.samples, dtype=float)
                                              .tobytes()).hexdigest()}
            for d in uncertainty]
    prefix = f"{kind}-{sweep.name}"
    digest = sweep.digest()
    horizon = sweep.base.time.horizon_months if sweep.base is not None else 0
    start = sweep.base.time.start if sweep.base is not None else "2026-04"
    fiscal = fiscal_year_columns(start, horizon) if sweep.metrics else []
    replicates = sweep.spec.replicates
    started = datetime.now(UTC)
    folder = find_resumable(out_dir, kind, sweep.name) if resume else None
    resumed = folder is not None
    if folder is not None:
        manifest = read_manifest(folder)
        if manifest.get("digest") != digest:
            raise SweepError(f"cannot resume {folder}: the sweep file or its base scenario has "
                             "changed since it started (their hash differs); run without "
                             "--resume to start a new sweep")
        if manifest.get("parameter_uncertainty") and "parameter_uncertainty" not in extra:
            raise SweepError(f"cannot resume {folder}: it was started with "
                             "--parameter-uncertainty; give the same files again")
        for key, value in extra.items():
            if manifest.get(key) != value:
                raise SweepError(f"cannot resume {folder}: it was started with {key} = "
                                 f"{manifest.get(key)!r}, not {value!r}")
        if chunk_size is not None and chunk_size != manifest["chunk_size"]:
            raise SweepError(f"cannot resume {folder} with --chunk-size {chunk_size}: it was "
                             f"started with {manifest['chunk_size']} (leave the option out)")
        design = pd.read_parquet(folder / DESIGN)
        chunk_size = int(manifest["chunk_size"])
    else:
        if chunk_size is None:
            chunk_size = default_chunk_size(
                len(design), replicates, horizon, executor.workers,
                sweep.spec.test_function is not None,
                stackable(sweep, sweep.spec.common_random_numbers, bool(uncertainty)))
        folder = new_sweep_folder(out_dir, kind, sweep.name, started)
        (folder / CHUNK_DIR).mkdir()
        write_text(folder / "sweep.toml", sweep.text)
        if sweep.bases:
            from sim.scenario import scenario_from_dict

            for value, title in sweep.titles.items():
                scenario = scenario_from_dict(sweep.bases[value], value)
                write_text(folder / f"base.resolved.{title}.toml", resolved_toml(scenario))
        elif sweep.base is not None:
            write_text(folder / "base.resolved.toml", resolved_toml(sweep.base))
        atomic_write(folder / DESIGN, lambda tmp: design.to_parquet(tmp, index=False))
        manifest = {
            "kind": kind, "sweep": sweep.name, "sweep_file": sweep.source, "digest": digest,
            "base": sweep.spec.base, "test_function": sweep.spec.test_function,
            "design": sweep.spec.design if kind == "sweep" else kind, "points": len(design),
            "replicates": replicates, "runs": len(design) * replicates, "seed": sweep.spec.seed,
            "common_random_numbers": sweep.spec.common_random_numbers,
            "chunk_size": chunk_size, "chunks": math.ceil(len(design) / chunk_size),
            "parameters": [{"path": p.path, "label": p.name, "distribution": p.kind,
                            "integer": i}
                           for p, i in zip(sweep.parameters, sweep.integer, strict=True)],
            "scenarios": dict(sweep.titles),
            "kpis": list(sweep.kpis), "metrics": list(sweep.metrics),
            "fiscal_years": [label for label, _ in fiscal],
            "horizon_months": horizon, "start": start, "prices": "nominal",
            "started": started.isoformat(timespec="seconds"), "finished": None,
            "command": list(command), "version": _version(), **extra,
        }
        write_json(folder / MANIFEST, manifest)

    chunks = int(manifest["chunks"])
    for stale in (folder / CHUNK_DIR).glob(".part-*.tmp"):  # left by a crash mid-write
        stale.unlink(missing_ok=True)
    finished = done_chunks(folder) & set(range(chunks))
    todo = set(range(chunks)) - finished
    points = len(design)
    runs_done = sum(min(chunk_size, points - i * chunk_size) for i in finished) * replicates
    design_types = {p: pa.Schema.from_pandas(design[[p]], preserve_index=False).field(p).type
                    for p in sweep.paths}
    t0 = time.perf_counter()
    if todo:
        if las is None and sweep.base is not None:
            las = load_la_population()
        context = SweepContext(sweep=sweep, las=las, replicates=replicates, seed=sweep.spec.seed,
                               common_random_numbers=sweep.spec.common_random_numbers,
                               fiscal_years=tuple(fiscal), uncertainty=tuple(uncertainty))
        bar = _progress(points * replicates, runs_done, prefix, progress)
        written = len(finished)
        try:
            work = _chunks(design, sweep.paths, chunk_size, todo)
            for chunk, columns in executor.map_unordered(run_chunk, context, work):
                write_chunk(folder, chunk.index, _arrow_table(columns, design_types))
                written += 1
                bar.update(chunk.size * replicates)
        except KeyboardInterrupt:
            bar.close()
            raise SweepInterrupted(folder, written, chunks) from None
        except PointError as exc:
            bar.close()
            raise SweepError(str(exc)) from None
        bar.close()
    results = folder / RESULTS
    if todo or not results.is_file():
        combine_chunks(folder, range(chunks))
    seconds = time.perf_counter() - t0
    if todo or manifest.get("finished") is None:
        manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        manifest.setdefault("attempts", [])
        manifest["attempts"].append({"started": started.isoformat(timespec="seconds"),
                                     "chunks_run": len(todo), "seconds": round(seconds, 3),
                                     "executor": executor.describe()})
        write_json(folder / MANIFEST, manifest)
    return SweepRun(folder=folder, results=results, points=points, replicates=replicates,
                    chunks=chunks, chunks_run=len(todo), seconds=seconds, resumed=resumed,
                    manifest=manifest)


def run_sweep(sweep: Sweep, out_dir: Path, **kwargs: Any) -> SweepRun:
    """Build the sweep's own design and run it (see :func:`run_design` for the options)."""
    if kwargs.get("resume") and find_resumable(out_dir, "sweep", sweep.name) is not None:
        design = pd.DataFrame()  # replaced by the stored design
    else:
        from sim.experiments.design import build_design

        design = build_design(sweep)
    return run_design(sweep, design, out_dir, kind="sweep", **kwargs)


def _version() -> str:
    try:
        from sim.version import __version__

        return str(__version__)
    except ImportError:  # pragma: no cover
        return "unknown"


def read_design(folder: Path) -> pd.DataFrame:
    """The design table of a sweep folder."""
    return pq.read_table(Path(folder) / DESIGN).to_pandas()
