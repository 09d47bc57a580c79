"""Paths and spec text shared by the calibration tests (imported as ``calibration_helpers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CALIBRATION = ROOT / "calibration"
UPTAKE_ONLY = CALIBRATION / "models" / "uptake_only.toml"
SHIPPED_SPECS = ("uptake_fdac", "uptake_contextual_safeguarding", "uptake_funded_raa",
                 "uptake_bass", "workforce_turnover", "ofsted_good_share")


def spec_text(observed: str, *, extra_observed: str = "", model: str | None = None,
              parameters: str | None = None, method: str = 'kind = "abc"',
              loss: str = "", quality: str = "") -> str:
    """A small uptake spec (p and q on the uptake-only model) with the given pieces."""
    model = model if model is not None else (
        f'[model]\nscenario = "{UPTAKE_ONLY.as_posix()}"\nmetric = "members"\n'
        'initial_adopters = "first_observation"\n')
    parameters = parameters if parameters is not None else (
        '[[parameters]]\npath = "uptake.p_per_year"\nlower = 0.001\nupper = 0.3\nscale = "log"\n\n'
        '[[parameters]]\npath = "uptake.q_per_year"\nlower = 0.0\nupper = 2.0\n')
    return (f'[meta]\nname = "test_fit"\n\n[observed]\nfile = "{observed}"\ndate_column = "date"\n'
            f'value_column = "adopters"\nkind = "count"\n{extra_observed}\n{model}\n{parameters}\n'
            f'[loss]\n{loss}\n[method]\n{method}\n\n[quality]\n{quality}\n')


def write_count_spec(folder: Path, months: list[int], counts: Any, *, csv: str = "series.csv",
                     model_extra: str = "", **pieces: str) -> Path:
    """Member counts at model months as ``folder/csv`` and a spec fitting them on the
    uptake-only model (no seeding unless ``model_extra`` asks), other pieces as
    :func:`spec_text` takes them; returns the spec's path."""
    lines = ["date,adopters"] + [f"{m // 12}-{m % 12 + 1:02d},{int(c)}"
                                 for m, c in zip(months, counts, strict=True)]
    (folder / csv).write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = (f'[model]\nscenario = "{UPTAKE_ONLY.as_posix()}"\nmetric = "members"\n'
             f"{model_extra}")
    path = folder / "spec.toml"
    path.write_text(spec_text(csv, model=model, **pieces), encoding="utf-8")
    return path
