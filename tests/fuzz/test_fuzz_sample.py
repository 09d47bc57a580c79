"""A small fixed-seed sample of the fuzz harness (benchmarks/fuzz.py) runs in CI: mutated
scenarios, --set strings, sweep files and observed CSVs give exit 0 or one-line exit 2 — no
traceback, no hang, no broken conservation law (issue #17 item 7)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_harness", ROOT / "benchmarks" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_harness"] = module
    spec.loader.exec_module(module)
    return module


def test_a_fixed_sample_of_mutated_inputs_breaks_nothing() -> None:
    """40 inputs (seed 7) through validate; some accepted ones through the model and the CLI."""
    fuzz = load_harness()
    tally = fuzz.fuzz(40, seed=7, run_share=0.25, model_share=0.5)
    counts = sum(tally.counts.values(), start=type(next(iter(tally.counts.values())))())
    assert counts["inputs"] >= 40
    assert counts["exit 0"] > 0 and counts["exit 2"] > 0  # the sample reaches both answers
    assert tally.bad() == 0, tally.table() + "\n" + "\n".join(map(str, tally.failures))
