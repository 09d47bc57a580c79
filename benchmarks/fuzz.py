"""Fuzz the command line with mutated inputs and count what breaks (issue #17 item 7).

Mutates the shipped scenarios, sweep files, ``--set`` strings and observed CSVs — types, bounds,
nesting, encodings, paths, sizes — and feeds them to ``validate``, ``run``, ``sweep`` and
``calibrate`` in-process through the CLI entry point (click's CliRunner), each call under an
alarm that counts it as a hang when it overruns. Every input goes through the validate level
(``validate``; ``load_sweep`` for a sweep file; reading the observed series for a CSV); a share
of them (``--run-share``) also through the run level, with cheap settings: ``run`` with 4
replicates over at most 24 months, ``sweep`` with 3 points × 2 replicates, ``calibrate`` of the
closed-form and trend specs (seconds each). An accepted scenario is also run through the model
(4 replicates) and its results checked against the laws of
:func:`sim.experiments.invariants.broken_invariants` (money identity, LA conservation,
staff ≥ 0).

Counted per target and level: exit 0, exit 2, any other exit, tracebacks (an exception that is
not a clean exit, or "Traceback" in the output), error messages of more than one line, hangs
and invariant breaks; then the throughput. Failures are listed with the input that caused them
(``--report FILE`` writes them all as JSON)::

    python benchmarks/fuzz.py --inputs 10000 --run-share 0.02 --seed 1 --report fuzz.json

Results and the command of the last large run are in docs/robustness.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from sim.cli import main as cli  # noqa: E402
from sim.scenario.schema import parameter_rows  # noqa: E402

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
SWEEPS = sorted(p for p in (ROOT / "scenarios" / "sweeps").glob("*.toml")
                if p.stem != "ishigami")
SPECS = {  # fast fits (closed form, trend): spec → observed file, date column, value column
    "workforce_turnover": ("csww_national_2017_2025.csv", "year_to_30_september",
                           "turnover_rate_fte"),
    "ofsted_good_share": ("ofsted_good_or_outstanding_share.csv", "as_at",
                          "share_good_or_outstanding_pct"),
}
VALIDATE_TIMEOUT_S = 30
RUN_TIMEOUT_S = 300

HOSTILE_TEXT = ["$$", "$\\alpha$", "\\", "a\\b", "tab\t", "bell\x07", "\x1b[2J", "nul\x00",
                "=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1",
                "Sheet/1:*?[]", "é漢🙂", " ", "", "x" * 61, "y" * 121, "z" * 5000,
                "../../etc/passwd", "/dev/zero", "builtin:la_hosted", "builtin:../x"]
HOSTILE_NUMBERS = ["nan", "inf", "-inf", "+inf", "1e308", "-1e308", "1e309", "5e-324",
                   "1e-20", "-1e-20", "0", "-0.0", "-1", "9223372036854775807",
                   "9223372036854775808", "-9223372036854775809", "1" + "0" * 40, "1_000",
                   "0x10", "0b11", "1.5", "true", "false", "\"12\"", "[]", "[1, 2]",
                   "{a = 1}", "2026-04-01", "1979-05-27T07:32:00Z", "'text'", "=", "[[1]]"]


# --------------------------------------------------------------------------- calls


class _Overrun(BaseException):
    """Raised by the alarm: the call took longer than its timeout (a hang)."""


@contextlib.contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: Any) -> None:
        raise _Overrun
    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    exit_code: int | None = None
    traceback: str = ""
    hang: bool = False
    multiline: bool = False
    broken: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_cli(args: list[str], timeout: int) -> Outcome:
    """Invoke the CLI in-process; classify what happened."""
    start = time.perf_counter()
    outcome = Outcome()
    try:
        with _alarm(timeout):
            result = CliRunner().invoke(cli, args, catch_exceptions=True)
    except _Overrun:
        outcome.hang = True
        outcome.seconds = time.perf_counter() - start
        return outcome
    outcome.seconds = time.perf_counter() - start
    outcome.exit_code = result.exit_code
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        outcome.traceback = f"{type(exc).__name__}: {str(exc)[:300]}"
    elif "Traceback (most recent call last)" in result.output:
        outcome.traceback = result.output[-300:]
    if result.exit_code == 2:
        lines = [line for line in result.output.splitlines() if line.strip()]
        outcome.multiline = len(lines) != 1
    return outcome


def run_python(call: Callable[[], Any], bad_input: tuple[type[BaseException], ...],
               timeout: int) -> Outcome:
    """Call a library function: a clean refusal (``bad_input``) counts as exit 2."""
    start = time.perf_counter()
    outcome = Outcome(exit_code=0)
    try:
        with _alarm(timeout):
            call()
    except _Overrun:
        outcome = Outcome(hang=True)
    except bad_input as exc:
        outcome.exit_code = 2
        outcome.multiline = "\n" in str(exc)
    except Exception as exc:  # noqa: BLE001 — the point is to count them
        outcome.exit_code = 1
        outcome.traceback = f"{type(exc).__name__}: {str(exc)[:300]}"
    outcome.seconds = time.perf_counter() - start
    return outcome


# --------------------------------------------------------------------------- mutations


def _leaf_paths() -> list[str]:
    return [row["path"].replace("[]", "[0]") for row in parameter_rows()]


LEAVES = _leaf_paths()


def _walk(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            out += [(f"{prefix}{key}", value)] + _walk(value, f"{prefix}{key}.")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += [(f"{prefix[:-1]}[{i}]", value)] + _walk(value, f"{prefix[:-1]}[{i}].")
    return out


def _set(data: Any, path: str, value: Any) -> None:
    from sim.scenario.load import split_key_path

    parts = split_key_path(path)
    node = data
    for part in parts[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value


_DELETE = object()


def _mutant_value(rng: random.Random, old: Any) -> Any:
    """A value of a wrong type, at or past a bound, or hostile text."""
    choice = rng.random()
    if isinstance(old, int | float) and not isinstance(old, bool) and rng.random() < 0.35:
        plausible = old * rng.uniform(0.5, 1.5)  # a value a user might mean
        return round(plausible) if isinstance(old, int) else plausible
    if isinstance(old, bool) or choice < 0.1:
        return rng.choice([True, False, 0, 1, "true", None, [], {}])
    if isinstance(old, int | float) and choice < 0.75:
        return rng.choice([old * 10 ** rng.randint(1, 30), -old, old + 1, old - 1, 0, -1,
                           math.nan, math.inf, -math.inf, 2**63 - 1, 2**63, -(2**63),
                           10**40, 5e-324, 1e-20, 1e308, float(old) + 0.5, str(old),
                           rng.uniform(-1e3, 1e3), rng.randint(-5, 1300)])
    if isinstance(old, str) and choice < 0.75:
        return rng.choice(HOSTILE_TEXT)
    if isinstance(old, list) and choice < 0.6:
        return rng.choice([[], old * rng.randint(2, 30), old[:1], [old], "x", 3])
    if isinstance(old, dict) and choice < 0.6:
        return rng.choice([{}, [old], "x", {"unknown_key": 1, **old}])
    return rng.choice([_DELETE, HOSTILE_TEXT[rng.randrange(len(HOSTILE_TEXT))], [], {},
                       {"a": {"b": {"c": 1}}}, rng.random()])


def _clean(data: Any) -> Any:
    """``data`` with what TOML cannot hold (None) written as text, so it can be dumped."""
    if isinstance(data, dict):
        return {str(k): _clean(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_clean(v) for v in data]
    return "None" if data is None else data


def _to_toml(data: dict[str, Any]) -> bytes:
    try:
        return tomli_w.dumps(_clean(data)).encode("utf-8", errors="surrogatepass")
    except (TypeError, ValueError):  # e.g. a mixed array tomli_w refuses: write it by hand
        return "".join(f"{k} = {json.dumps(v)}\n" for k, v in data.items()
                       if not isinstance(v, dict)).encode("utf-8", errors="surrogatepass")


def _text_mutation(rng: random.Random, text: str) -> bytes:
    """Raw-text damage: truncation, a flipped byte, another encoding, a BOM, CRLF, giant lines,
    deep nesting, a duplicated key, a many-segment dotted key."""
    kind = rng.randrange(10)
    raw = text.encode("utf-8")
    if kind == 0:
        return raw[:rng.randrange(len(raw) + 1)]
    if kind == 1:
        i = rng.randrange(len(raw))
        return raw[:i] + bytes([rng.randrange(256)]) + raw[i + 1:]
    if kind == 2:
        return text.encode(rng.choice(["utf-16", "latin-1", "utf-32"]), errors="replace")
    if kind == 3:
        return b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")
    if kind == 4:
        return raw + b"\n[meta]\nname = \"again\"\n"  # a duplicated table
    if kind == 5:
        depth = rng.choice([17, 50, 500, 5000])
        return raw + b"\nx = " + b"[" * depth + b"]" * depth + b"\n"
    if kind == 6:
        return raw + b"\n" + b".".join([b"k"] * rng.choice([20, 1000, 100_000])) + b" = 1\n"
    if kind == 7:
        return raw + b"\n# " + b"x" * rng.choice([5000, 2_000_000]) + b"\n"
    if kind == 8:
        return raw.replace(b"=", b"==", 1)
    return raw + b"\n[uptake]\nq_per_year = 0.1\n"  # a table defined twice


@dataclass
class Case:
    target: str
    note: str
    validate: Callable[[], Outcome]
    run: Callable[[], Outcome] | None = None
    model: Callable[[], list[str]] | None = None


def _portable(data: dict[str, Any]) -> dict[str, Any]:
    """A shipped scenario's data with ``extends`` made valid from any folder."""
    parent = data.get("extends")
    if isinstance(parent, str) and not parent.startswith("builtin:"):
        data["extends"] = "builtin:" + Path(parent).stem
    return data


def _write(folder: Path, name: str, raw: bytes) -> Path:
    path = folder / name
    path.write_bytes(raw)
    return path


def _model_check(path: Path, overrides: list[str]) -> Callable[[], list[str]]:
    def check() -> list[str]:
        from sim.data import load_la_population
        from sim.experiments import run_ensemble
        from sim.experiments.invariants import broken_invariants
        from sim.scenario import ScenarioError, load_scenario

        try:
            scenario = load_scenario(path, [*overrides, "time.horizon_months=24"])
        except ScenarioError:
            scenario = load_scenario(path, overrides)  # a drawn grant month may need the horizon
        las = load_la_population()
        return broken_invariants(run_ensemble(scenario, las, 4, 5), las.count)
    return check


def _run_args(path: Path, out: Path, overrides: list[str]) -> list[str]:
    """``run`` with 4 replicates, over 24 months where the scenario allows it."""
    from sim.scenario import ScenarioError, load_scenario

    short = [*overrides, "time.horizon_months=24"]
    try:
        load_scenario(path, short)
    except ScenarioError:
        short = overrides  # e.g. a grant that starts after month 24: the full horizon
    args = ["run", str(path), "-n", "4", "--out", str(out), "--workers", "1"]
    for text in short:
        args += ["--set", text]
    return args


def scenario_case(rng: random.Random, folder: Path) -> Case:
    source = rng.choice(SCENARIOS)
    data = _portable(tomllib.loads(source.read_text(encoding="utf-8")))
    if rng.random() < 0.25:
        raw = _text_mutation(rng, _to_toml(data).decode("utf-8", errors="replace"))
        note = f"{source.stem}: raw text damage"
    else:
        entries = _walk(data)
        notes = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.15 or not entries:
                path = rng.choice(LEAVES)
                value = _mutant_value(rng, 1.0)
                with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                    _set(data, path, value)
            else:
                path, old = rng.choice(entries)
                value = _mutant_value(rng, old)
                with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                    _set(data, path, value)
            notes.append(f"{path}={value!r}"[:120])
            entries = _walk(data)
        raw = _to_toml(data)
        note = f"{source.stem}: " + "; ".join(notes)
    if rng.random() < 0.05:
        special = rng.choice(["/dev/zero", "/proc/self/environ", "missing.toml", "loop.toml",
                              "fifo.toml", str(folder), "builtin:../../etc/passwd"])
        raw = f'extends = "{special}"\n'.encode() + raw
        note += f"; extends={special}"
    path = _write(folder, f"s{rng.randrange(10**9)}.toml", raw)
    return Case("scenario file", note,
                validate=lambda: run_cli(["validate", str(path)], VALIDATE_TIMEOUT_S),
                run=lambda: run_cli(_run_args(path, folder, []), RUN_TIMEOUT_S),
                model=_model_check(path, []))


def set_case(rng: random.Random, folder: Path) -> Case:
    source = rng.choice(SCENARIOS)
    sets = []
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(LEAVES)
        if rng.random() < 0.1:
            path = rng.choice([path + "x", path.upper(), path.replace(".", ".."), "",
                               path + "[0]", path.replace("[0]", "[99]"), "extends",
                               "a." * 40 + "b", path.replace("[0]", "[-1]")])
        value = rng.choice([rng.choice(HOSTILE_NUMBERS), repr(rng.uniform(-2, 2)),
                            str(rng.randint(-2, 1300)), rng.choice(HOSTILE_TEXT)])
        sets.append(f"{path}={value}" if rng.random() > 0.03 else path)
    args = ["validate", str(source)]
    for text in sets:
        args += ["--set", text]
    return Case("--set string", f"{source.stem}: {sets!r}"[:300],
                validate=lambda: run_cli(args, VALIDATE_TIMEOUT_S),
                run=lambda: run_cli(_run_args(source, folder, sets), RUN_TIMEOUT_S),
                model=_model_check(source, sets))


def sweep_case(rng: random.Random, folder: Path) -> Case:
    source = rng.choice(SWEEPS)
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    for key in ("base", "scenarios"):
        if isinstance(data.get(key), str):
            data[key] = str((source.parent / data[key]).resolve())
        elif isinstance(data.get(key), list):
            data[key] = [str((source.parent / v).resolve()) for v in data[key]]
    for p in data.get("parameters", []):
        if p.get("path") == "scenario" and "values" in p:
            p["values"] = [str((source.parent / v).resolve()) for v in p["values"]]
    # cheap settings: a few points, two replicates, two years
    data.update(replicates=2, samples=4 if data.get("design") != "grid" else None)
    data = {k: v for k, v in data.items() if v is not None}
    data["set"] = [*data.get("set", []), "time.horizon_months=36"]
    for p in data.get("parameters", []):
        if "levels" in p:
            p["levels"] = 2
    if data.get("design") == "sobol":
        data["samples"] = 4
    notes = []
    for _ in range(rng.choice([1, 1, 2])):
        entries = [e for e in _walk(data) if e[0] not in ("base",)]
        path, old = rng.choice(entries)
        if rng.random() < 0.5 and data.get("parameters"):
            i = rng.randrange(len(data["parameters"]))
            key = rng.choice(["low", "high", "mean", "sd", "mode", "levels", "path"])
            path = f"parameters[{i}].{key}"
            entry = data["parameters"][i]
            old = entry.get(key, 1.0) if isinstance(entry, dict) else 1.0
        value = _mutant_value(rng, old)
        with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
            _set(data, path, value)
        notes.append(f"{path}={value!r}"[:120])
    raw = _to_toml(data)
    if rng.random() < 0.15:
        raw = _text_mutation(rng, raw.decode("utf-8", errors="replace"))
        notes.append("raw text damage")
    path = _write(folder, f"w{rng.randrange(10**9)}.toml", raw)

    def validate() -> Outcome:
        from sim.experiments.sweepfile import load_sweep
        from sim.scenario import ScenarioError
        return run_python(lambda: load_sweep(path), (ScenarioError,), VALIDATE_TIMEOUT_S)

    return Case("sweep file", f"{source.stem}: " + "; ".join(notes), validate=validate,
                run=lambda: run_cli(["sweep", str(path), "--workers", "1", "--out", str(folder),
                                     "--no-progress"], RUN_TIMEOUT_S))


def observed_case(rng: random.Random, folder: Path) -> Case:
    name = rng.choice(sorted(SPECS))
    spec = ROOT / "calibration" / f"{name}.toml"
    data_file, date_col, value_col = SPECS[name]
    loaded_text = (ROOT / "calibration" / "data" / data_file).read_text(encoding="utf-8")
    lines = loaded_text.splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    value_at, date_at = header.index(value_col), header.index(date_col)
    notes = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(8)
        if kind <= 2 and rows:
            row = rng.randrange(len(rows))
            col = value_at if kind < 2 else date_at
            if col < len(rows[row]):
                new = (rng.choice(HOSTILE_NUMBERS + ["-5", "400", "1e308", "-1e308", "x", "",
                                                     "c", "1,000", "NaN"]) if kind < 2 else
                       rng.choice(["0000", "9999-12", "2020-13", "2020-02-30", "2018",
                                   "30/09/2020", "", "2020-1", "99999"]))
                rows[row][col] = new
                notes.append(f"row {row + 2} {'value' if kind < 2 else 'date'} = {new!r}")
        elif kind == 3 and rows:
            rows = rows * rng.randint(2, 5)
            notes.append("rows repeated")
        elif kind == 4:
            rows = rows[:rng.randrange(3)]
            notes.append("rows cut")
        elif kind == 5:
            header = [h if rng.random() > 0.2 else h + "_" for h in header]
            notes.append("columns renamed")
        elif kind == 6 and rows:
            rows[rng.randrange(len(rows))] = ["\x00\xff", "x"]
            notes.append("a ragged binary row")
        else:
            notes.append("an encoding")
    text = "\n".join([",".join(header), *[",".join(r) for r in rows]]) + "\n"
    raw = (text.encode(rng.choice(["utf-16", "latin-1"]), errors="replace")
           if notes[-1] == "an encoding" else text.encode("utf-8", errors="surrogatepass"))
    path = _write(folder, f"o{rng.randrange(10**9)}.csv", raw)
    if rng.random() < 0.02:
        special = rng.choice(["fifo.csv", "big.csv", "/dev/zero", "/proc/self/environ", "nope.csv",
                              "."])
        path = folder / special if not special.startswith("/") else Path(special)
        notes.append(f"the file is {special}")

    def validate() -> Outcome:
        from sim.experiments.calibration import load_spec, read_series, with_observed
        from sim.scenario import ScenarioError
        return run_python(lambda: read_series(with_observed(load_spec(spec), path, date_col,
                                                            value_col)),
                          (ScenarioError,), VALIDATE_TIMEOUT_S)

    return Case("observed CSV", f"{name}: " + "; ".join(notes), validate=validate,
                run=lambda: run_cli(["calibrate", str(spec), "--observed", str(path),
                                     "--date-column", date_col, "--value-column", value_col,
                                     "--budget", "small", "--workers", "1", "--out",
                                     str(folder)], RUN_TIMEOUT_S))


MAKERS = (scenario_case, set_case, sweep_case, observed_case)
WEIGHTS = (0.35, 0.35, 0.15, 0.15)


# --------------------------------------------------------------------------- driver


@dataclass
class Tally:
    counts: dict[tuple[str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter))
    seconds: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    failures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, case: Case, level: str, outcome: Outcome) -> None:
        key = (case.target, level)
        c = self.counts[key]
        c["inputs"] += 1
        self.seconds[key] += outcome.seconds
        if outcome.hang:
            c["hangs"] += 1
        elif outcome.exit_code in (0, 2):
            c[f"exit {outcome.exit_code}"] += 1
        else:
            c["other exit"] += 1
        for what, bad in (("tracebacks", bool(outcome.traceback)),
                          ("multi-line errors", outcome.multiline),
                          ("invariant breaks", bool(outcome.broken))):
            if bad:
                c[what] += 1
        if outcome.hang or outcome.traceback or outcome.multiline or outcome.broken or (
                outcome.exit_code not in (0, 2)):
            self.failures.append({"target": case.target, "level": level, "input": case.note,
                                  "exit": outcome.exit_code, "hang": outcome.hang,
                                  "traceback": outcome.traceback, "broken": outcome.broken})

    def table(self) -> str:
        cols = ["inputs", "exit 0", "exit 2", "other exit", "tracebacks", "multi-line errors",
                "hangs", "invariant breaks"]
        short = ["inputs", "exit 0", "exit 2", "exit other", "traceback", "multi-line", "hang",
                 "broken law"]
        head = f"{'target':<15}{'level':<10}" + "".join(f"{c:>11}" for c in short) + \
            f"{'inputs/s':>10}"
        out = [head, "-" * len(head)]
        for key in sorted(self.counts):
            c = self.counts[key]
            rate = c["inputs"] / self.seconds[key] if self.seconds[key] else float("nan")
            out.append(f"{key[0]:<15}{key[1]:<10}" + "".join(f"{c[col]:>11}" for col in cols)
                       + f"{rate:>10.1f}")
        total = Counter[str]()
        for c in self.counts.values():
            total.update(c)
        out.append(f"{'total':<25}" + "".join(f"{total[col]:>11}" for col in cols))
        return "\n".join(out)

    def bad(self) -> int:
        return sum(c["tracebacks"] + c["hangs"] + c["invariant breaks"] + c["multi-line errors"]
                   + c["other exit"] for c in self.counts.values())


def fuzz(inputs: int, seed: int, run_share: float, model_share: float,
         targets: tuple[str, ...] = (), progress: bool = False) -> Tally:
    """Generate ``inputs`` mutated inputs and run each through the validate level; a share of
    the accepted ones through the run level (``run_share``) and the model with the invariant
    check (``model_share``)."""
    rng = random.Random(seed)
    tally = Tally()
    makers = [(m, w) for m, w in zip(MAKERS, WEIGHTS, strict=True)
              if not targets or m.__name__.removesuffix("_case") in targets]
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        folder = Path(tmp)
        (folder / "loop.toml").write_text('extends = "loop.toml"\n', encoding="utf-8")
        if hasattr(os, "mkfifo"):
            os.mkfifo(folder / "fifo.toml")
            os.mkfifo(folder / "fifo.csv")
        with (folder / "big.csv").open("wb") as big:  # sparse: 100 MB on paper, nothing on disk
            big.truncate(100 << 20)
        started = time.perf_counter()
        for i in range(inputs):
            case = None
            while case is None:  # a mutation the harness itself cannot write: draw another
                maker = rng.choices([m for m, _ in makers], [w for _, w in makers])[0]
                try:
                    case = maker(rng, folder)
                except (TypeError, ValueError, AttributeError, KeyError, IndexError):
                    case = None
            outcome = case.validate()
            tally.add(case, "validate", outcome)
            accepted = outcome.exit_code == 0 and not outcome.traceback
            if case.model is not None and accepted and rng.random() < model_share:
                tally.add(case, "model", _model_outcome(case.model))
            if case.run is not None and accepted and rng.random() < run_share:
                outcome = case.run()
                # The contract: what validates runs. (Reading an observed series is not all a
                # fit checks: workforce_turnover's method also needs its group column, so a
                # calibrate run may still refuse a series that reads, in one line.)
                if outcome.exit_code == 2 and case.target != "observed CSV":
                    outcome.broken = ["validate accepted it, the run refused it"]
                tally.add(case, "run", outcome)
            if progress and (i + 1) % 100 == 0:
                rate = (i + 1) / (time.perf_counter() - started)
                print(f"{i + 1} inputs, {rate:.1f}/s, {tally.bad()} problems", file=sys.stderr)
            for stale in folder.glob("*"):  # keep the folder small: results of runs
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
    return tally


def _model_outcome(check: Callable[[], list[str]]) -> Outcome:
    start = time.perf_counter()
    outcome = Outcome(exit_code=0)
    try:
        with _alarm(RUN_TIMEOUT_S):
            outcome.broken = check()
    except _Overrun:
        outcome = Outcome(hang=True)
    except Exception as exc:  # noqa: BLE001
        outcome.exit_code = 1
        outcome.traceback = f"{type(exc).__name__}: {str(exc)[:300]}"
    outcome.seconds = time.perf_counter() - start
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1000, help="mutated inputs to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run-share", type=float, default=0.02,
                        help="share of inputs also run through run/sweep/calibrate")
    parser.add_argument("--model-share", type=float, default=0.1,
                        help="share of accepted scenarios run through the model and checked")
    parser.add_argument("--targets", nargs="*", default=[],
                        choices=["scenario", "set", "sweep", "observed"])
    parser.add_argument("--report", type=Path, help="write every failure as JSON here")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tally = fuzz(args.inputs, args.seed, args.run_share, args.model_share,
                 tuple(args.targets), args.progress)
    seconds = time.perf_counter() - started
    print(tally.table())
    print(f"\n{args.inputs} inputs in {seconds:.0f} s ({args.inputs / seconds:.1f} inputs/s); "
          f"{tally.bad()} problems")
    for failure in tally.failures[:20]:
        print(json.dumps(failure)[:600])
    if args.report:
        args.report.write_text(json.dumps(tally.failures, indent=1), encoding="utf-8")
    return 1 if tally.bad() else 0


if __name__ == "__main__":
    sys.exit(main())
