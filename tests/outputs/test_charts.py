"""Every chart is rendered from a small real run; files exist, are real images, and their titles
state numbers that match summary.json and kpis.parquet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

CHARTS = ("funding_cliff", "trajectories", "survival", "growth_path", "paired_differences")


def _title(folder: Path, chart: str) -> str:
    with Image.open(folder / f"{chart}.png") as image:
        return image.text["Title"]


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _titles(folder: Path) -> dict[str, str]:
    """Each scenario's plain title, as the manifest carries it (meta.title)."""
    meta = json.loads((folder / "manifest.json").read_text())["scenario_meta"]["scenarios"]
    return {name: block["title"] for name, block in meta.items()}


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _millions(value: float) -> str:
    return f"£{value / 1e6:.1f}m"


@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_is_written_as_png_and_svg(compare_folder: Path, chart: str) -> None:
    """Each chart is a non-trivial 200-dpi PNG and an SVG whose text (title, footer) is text."""
    png, svg = compare_folder / f"{chart}.png", compare_folder / f"{chart}.svg"
    assert png.stat().st_size > 30_000 and svg.stat().st_size > 10_000
    with Image.open(png) as image:
        assert image.size[0] >= 1600 and image.size[1] >= 1000
        assert round(image.info["dpi"][0]) == 200
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10, "the image is (nearly) blank"
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "60 replicates each" in text and "seed 7" in text
    first_words = " ".join(_title(compare_folder, chart).split()[:3])
    assert first_words in text


def test_no_temporary_files_remain(compare_folder: Path) -> None:
    """Every file was renamed into place: no .tmp or .partial names are left."""
    assert not [p.name for p in compare_folder.parent.iterdir() if p.name.startswith(".")]
    assert not [p.name for p in compare_folder.iterdir() if p.name.endswith(".tmp")]


def test_funding_cliff_title_quotes_viability_and_the_fall(compare_folder: Path) -> None:
    """The funding-cliff title gives every scenario's chance of working after 10 years and the
    range of the fall, from summary.json."""
    summary = _summary(compare_folder)
    titles = _titles(compare_folder)
    title = _title(compare_folder, "funding_cliff")
    best_first = sorted(summary, key=lambda s: -summary[s]["viable_prob_y10"]["mean"])
    working = ", ".join(f"{titles[s]} {_pct(summary[s]['viable_prob_y10']['mean'])}"
                        for s in best_first)
    assert f"Working after 10 years: {working}" in title
    shares = sorted(round(100 * k["cliff_drop_share"]["p50"]) for k in summary.values())
    fall = f"{shares[0]}%" if shares[0] == shares[-1] else f"{shares[0]}–{shares[-1]}%"
    assert f"income falls {fall}" in title


def _names(text: str) -> list[str]:
    return [n for part in text.split(" and ") for n in part.split(", ") if n]


def test_funding_cliff_title_run_out_shares_match_kpis(compare_folder: Path) -> None:
    """The shares of runs whose reserves run out, as quoted in the title, match a direct count
    over kpis.parquet of runs whose month-end reserves ever fall below £0."""
    kpis = pd.read_parquet(compare_folder / "kpis.parquet")
    titles = _titles(compare_folder)
    title = _title(compare_folder, "funding_cliff").split("\n")[0]
    expected = {titles[name]: f"{100 * frame['reserves_exhausted_month'].notna().mean():.0f}"
                for name, frame in kpis.groupby("scenario")}
    same = re.search(r"reserves run out in (\d+)% of runs in every scenario", title)
    if same:
        assert set(expected.values()) == {same.group(1)}
        return
    match = re.search(r"reserves run out in (\d+)% of runs for (.+?), (\d+)% for (.+)$", title)
    assert match, title
    for share, names in ((match.group(1), match.group(2)), (match.group(3), match.group(4))):
        for n in _names(names):
            assert expected[n] == share, (n, expected)
    assert match.group(1) == max(expected.values(), key=int)
    assert match.group(3) == min(expected.values(), key=int)


def test_trajectories_title_quotes_members_and_value(compare_folder: Path) -> None:
    """The trajectories title names the scenario with most and fewest member LAs and every
    scenario's median value delivered, from summary.json."""
    summary = _summary(compare_folder)
    title = _title(compare_folder, "trajectories")
    members = {s: k["members_y10"]["p50"] for s, k in summary.items()}
    best = max(members.values())
    if len(set(members.values())) > 1:
        assert f"(median {best:.0f})" in title
        assert f"the fewest ({min(members.values()):.0f})" in title
    titles = _titles(compare_folder)
    for s, k in summary.items():
        assert f"{titles[s]} {_millions(k['value_delivered_total_gbp']['p50'])}" in title


def test_survival_title_quotes_working_and_open(compare_folder: Path) -> None:
    """The title names the scenario least likely to be working after 10 years with its share,
    and gives every scenario's share still open."""
    summary = _summary(compare_folder)
    title = _title(compare_folder, "survival")
    titles = _titles(compare_folder)
    for s, k in summary.items():
        assert f"{titles[s]} {_pct(k['survival_prob_y10']['mean'])}" in title.split("\n")[1]
    worst = min(summary, key=lambda s: summary[s]["viable_prob_y10"]["mean"])
    assert title.startswith(titles[worst]) or title.startswith("Every scenario")
    assert f"{_pct(summary[worst]['viable_prob_y10']['mean'])} of runs" in title


def test_growth_title_quotes_live_services(compare_folder: Path) -> None:
    """The growth-path title quotes the median live services after 10 years."""
    summary = _summary(compare_folder)
    title = _title(compare_folder, "growth_path")
    live = {s: k["live_services_y10"]["p50"] for s, k in summary.items()}
    assert f"{max(live.values()):.0f}" in title.split("\n")[0]
    assert all(f"{t} " in title for t in _titles(compare_folder).values())


def test_paired_title_matches_replicate_differences(compare_folder: Path) -> None:
    """Paired differences in the title equal the mean of per-replicate differences, and for
    survival the difference of the summary means (every replicate defined)."""
    summary = _summary(compare_folder)
    kpis = pd.read_parquet(compare_folder / "kpis.parquet")
    base, *others = list(summary)
    titles = _titles(compare_folder)
    title = _title(compare_folder, "paired_differences")
    assert title.startswith(f"Against {titles[base]}")
    wide = kpis.pivot(index="replicate", columns="scenario", values="members_y10")
    for s in others:
        survival = 100 * (summary[s]["survival_prob_y10"]["mean"]
                          - summary[base]["survival_prob_y10"]["mean"])
        match = re.search(rf"([+−]?\d+) points for {re.escape(titles[s])}\b", title)
        assert match, title
        assert abs(int(match.group(1).replace("−", "-")) - survival) <= 0.5 + 1e-9
        diff = (wide[s] - wide[base]).mean()
        match = re.search(rf"{re.escape(titles[s])} ([+−]?[\d,]+)", title.split("\n")[1])
        assert match, title
        assert abs(int(match.group(1).replace("−", "-").replace(",", "")) - diff) <= 0.5 + 1e-9


def test_single_scenario_run_draws_every_chart_but_paired(run_folder: Path) -> None:
    """A one-scenario run draws four charts (no paired differences) whose titles use the
    run's own horizon (5 years here) and its numbers."""
    summary = _summary(run_folder)
    (name, k), = summary.items()
    for chart in CHARTS[:-1]:
        assert (run_folder / f"{chart}.png").stat().st_size > 30_000
    assert not (run_folder / "paired_differences.png").exists()
    assert "after 5 years" in _title(run_folder, "trajectories")
    title = _titles(run_folder)[name]
    assert f"{title} {_pct(k['survival_prob_y5']['mean'])}" in _title(run_folder, "survival")
