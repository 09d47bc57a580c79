"""Safe artefacts (issue #17, item 5): names are the user's own text, so they reach the
workbook as text (never a formula, never a broken sheet name), the charts literally (never as
mathtext) and the HTML report escaped."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sim.cli import main
from sim.outputs.style import save_figure
from sim.outputs.workbook import literal_text, sheet_name

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '=HYPERLINK("http://x/a","y") $$ <script>alert(1)</script>\a'
"""A scenario name that is a formula, empty mathtext, HTML and a control character (BEL)."""
GRANT = "$x$ \\beta =1+1"
"""A grant name with mathtext and a backslash."""
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`run --report` (4 replicates, two years) of a scenario with hostile names."""
    out = tmp_path_factory.mktemp("hostile")
    result = CliRunner().invoke(main, [
        "run", str(ROOT / "scenarios" / "la_hosted.toml"), "-n", "4", "--out", str(out),
        "--set", "time.horizon_months=24", "--set", f"meta.name={_toml_string(HOSTILE)}",
        "--set", f"finance.grants[0].name={_toml_string(GRANT)}", "--report"])
    assert result.exit_code == 0, result.output
    [folder] = [p for p in out.iterdir() if p.is_dir()]
    return folder


def test_names_in_the_workbook_are_text_never_formulas(hostile_run: Path) -> None:
    """No cell of the workbook holds a formula; the name reads back as the same text, its
    control character shown as \\x07; every sheet name is valid."""
    with zipfile.ZipFile(hostile_run / "workbook.xlsx") as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(book.read(n).decode("utf-8") for n in sheets)
    assert "<f>" not in xml and "<f " not in xml, "a cell holds a formula"
    workbook = load_workbook(hostile_run / "workbook.xlsx")
    texts = {c.value for ws in workbook for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)}
    expected = HOSTILE.replace("\a", "\\x07")
    assert expected in texts
    cell = next(c for ws in workbook for row in ws.iter_rows() for c in row if c.value == expected)
    assert cell.data_type == "s" and cell.quotePrefix
    for name in workbook.sheetnames:
        assert 0 < len(name) <= 31 and not SHEET_FORBIDDEN.search(name), name


def test_html_report_escapes_names(hostile_run: Path) -> None:
    """The name appears in report.html escaped, never as a live tag."""
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html


def test_charts_show_names_literally(hostile_run: Path) -> None:
    """Every chart is drawn and its SVG (text kept as text) carries the "$$" of the name as
    two dollar signs."""
    svgs = sorted(hostile_run.glob("*.svg"))
    assert {p.stem for p in svgs} >= {"funding_cliff", "trajectories", "survival"}
    assert any("$$" in p.read_text(encoding="utf-8") for p in svgs)


@pytest.mark.parametrize("text", ["$$", "$", "a $b$ c", "\\frac{1}{0}", "$\\undefinedcommand$",
                                  "100% of £5 ^_^"])
def test_any_text_saves_literally(text: str, tmp_path: Path) -> None:
    """Titles, labels and legends that would be bad mathtext are drawn as written."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label=text)
    ax.set_title(text)
    ax.set_xlabel(text)
    ax.legend()
    fig.tight_layout()  # measures every text before saving
    files = save_figure(fig, lambda name: tmp_path / name, "chart", title=text)
    assert [p.name for p in files] == ["chart.png", "chart.svg"]


def test_sheet_names_are_valid_and_unique() -> None:
    """Forbidden characters and control characters become _, names are cut to 31 characters,
    leading and trailing apostrophes go, History is reserved, repeats get ~2, ~3."""
    taken: set[str] = set()
    names = [sheet_name(n, taken) for n in ["Summary", "a/b:c[d]*?\\", "tab\tbell\a", "'q'",
                                             "History", "x" * 40, "x" * 40, "", "summary"]]
    assert names[:5] == ["Summary", "a_b_c_d____", "tab_bell_", "q", "scenario History"]
    assert names[5] == "x" * 31 and names[6] == "x" * 29 + "~2"
    assert names[7] == "scenario" and names[8] == "summary~2"
    assert all(len(n) <= 31 and not SHEET_FORBIDDEN.search(n) for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_literal_text_escapes_only_what_xlsx_cannot_hold() -> None:
    """Control characters (not tab, newline or carriage return) become \\xNN."""
    assert literal_text("a\x00b\x1fc\x7f\td\ne\rf é") == "a\\x00b\\x1fc\\x7f\td\ne\rf é"
