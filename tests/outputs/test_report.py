"""The HTML report, the board pack and the `report RUN_DIR` command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from sim.cli import main
from sim.outputs.kpi_text import KPI_TEXT

ROOT = Path(__file__).resolve().parents[2]


def _pdf_pages(path: Path) -> int:
    """Page objects in a PDF written by matplotlib (its object dictionaries are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_files_are_written_by_compare_report(compare_folder: Path) -> None:
    """`compare --report` writes report.html, board_pack.pdf and workbook.xlsx."""
    for name in ("report.html", "board_pack.pdf", "workbook.xlsx"):
        assert (compare_folder / name).stat().st_size > 5_000, name


def test_html_report_is_self_contained(compare_folder: Path) -> None:
    """report.html inlines every chart as a PNG, has no scripts and fetches nothing."""
    html = (compare_folder / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 5
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_scorecard_names_kpis_in_plain_words_beside_technical_names(compare_folder: Path) -> None:
    """Every KPI of summary.json appears in the scorecard with its technical name, and the known
    ones with their plain words."""
    html = (compare_folder / "report.html").read_text(encoding="utf-8")
    summary = json.loads((compare_folder / "summary.json").read_text())
    for kpi in next(iter(summary.values())):
        assert f"<code>{kpi}</code>" in html
    assert "Chance the Centre is still running after 10 years<br><code>survival_prob_y10" in html
    assert sum(text.words.split("{")[0] in html for text in KPI_TEXT.values()) >= 10
    assert "★" in html


def test_scorecard_marks_the_best_survival(compare_folder: Path) -> None:
    """The survival-to-year-10 row marks the scenario(s) with the highest share, and only them."""
    html = (compare_folder / "report.html").read_text(encoding="utf-8")
    summary = json.loads((compare_folder / "summary.json").read_text())
    row = re.search(r"<tr><td class=\"measure\">[^<]*<br><code>survival_prob_y10</code></td>(.*?)"
                    r"</tr>", html).group(1)
    cells = re.findall(r'<td class="cell( best)?">', row)
    shares = [round(100 * k["survival_prob_y10"]["mean"]) for k in summary.values()]
    if len(set(shares)) > 1:
        assert [bool(c) for c in cells] == [s == max(shares) for s in shares]


def test_board_pack_has_scorecard_and_one_page_per_chart(compare_folder: Path) -> None:
    """The board pack of a three-scenario comparison has the ranked table, the drivers, the
    scorecard and one page per chart: 3 + 5 pages."""
    pdf = compare_folder / "board_pack.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert _pdf_pages(pdf) == 8


def test_html_report_renders_in_headless_chromium(compare_folder: Path, tmp_path: Path) -> None:
    """Chromium opens report.html offline and its screenshot is not blank."""
    binary = _chromium()
    if binary is None:
        pytest.skip("no chromium binary on this machine (.ci/run installs Debian's chromium)")
    shot = tmp_path / "report.png"
    subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1200,2000", (compare_folder / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert shot.exists(), "chromium wrote no screenshot"
    with Image.open(shot) as image:
        assert image.size == (1200, 2000)
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    assert pixels.std() > 20, "the screenshot is (nearly) blank"
    assert (pixels.min(axis=2) < 100).mean() > 0.01, "too little dark ink: no text rendered"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200, "no charts or colours rendered"


def test_report_command_builds_the_report_from_the_folder_alone(run_folder: Path,
                                                                tmp_path: Path) -> None:
    """`report RUN_DIR` on a copied run folder writes the report from its files, twice over
    without leaving temporary files; the board pack has the scorecard and four charts."""
    folder = tmp_path / run_folder.name
    shutil.copytree(run_folder, folder)
    for name in ("funding_cliff.png", "funding_cliff.svg", "survival.png"):
        (folder / name).unlink()
    for _ in range(2):
        result = CliRunner().invoke(main, ["report", str(folder)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    for name in ("report.html", "board_pack.pdf", "workbook.xlsx", "funding_cliff.png",
                 "funding_cliff.svg", "survival.png"):
        assert (folder / name).stat().st_size > 5_000, name
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert _pdf_pages(folder / "board_pack.pdf") == 5
    assert (folder / "report.html").read_text(encoding="utf-8").count("data:image/png") == 4


def _report_error(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_report_refuses_a_missing_or_wrong_folder(tmp_path: Path) -> None:
    """A missing path, a file, or an empty folder gives one error line and exit code 2."""
    file = tmp_path / "file.txt"
    file.write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    for path, words in ((tmp_path / "nope", "does not exist"), (file, "is not a folder"),
                        (empty, "is not a run folder")):
        code, output = _report_error(path)
        assert code == 2
        lines = output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]


def test_report_names_a_missing_or_broken_file(run_folder: Path, tmp_path: Path) -> None:
    """A run folder missing kpis.parquet, or with a broken summary.json, is named in the error."""
    missing = tmp_path / "missing"
    shutil.copytree(run_folder, missing)
    (missing / "kpis.parquet").unlink()
    code, output = _report_error(missing)
    assert code == 2 and "missing kpis.parquet" in output
    broken = tmp_path / "broken"
    shutil.copytree(run_folder, broken)
    (broken / "summary.json").write_text("{ not json")
    code, output = _report_error(broken)
    assert code == 2 and "summary.json" in output and len(output.strip().splitlines()) == 1
    assert not (broken / "report.html").exists()


def test_report_error_has_no_traceback(tmp_path: Path) -> None:
    """From the real entry point, a bad RUN_DIR prints one line and no traceback."""
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "report", str(tmp_path / "gone")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: ") and "gone" in proc.stderr
