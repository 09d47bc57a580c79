"""docs/delivery_models.md: every row of its coverage table is well formed and cites what exists.

The page's coverage table lists each delivery model, legal form, funding source, approval route,
risk and consideration the two source documents name, with where the model represents it. These
tests parse that table and check each reference against the repository as it is: a file must
exist, a ``file.toml:key.path`` must name a value of that scenario once loaded (defaults
included), and a ``docs/x.md §N.N`` must name a numbered heading of that document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from sim.scenario import load_scenario
from sim.scenario.load import get_path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "delivery_models.md"

COLUMNS = ("item", "kind", "source", "status", "where", "note")
KINDS = frozenset({"model", "legal form", "funding", "approval", "risk", "consideration"})
STATUSES = frozenset({"represented", "partly", "not yet", "out of scope"})
CITING = frozenset({"represented", "partly"})
"""Statuses that must cite at least one reference."""

_SPAN = re.compile(r"`([^`]*)`")
_SECTION = re.compile(r"^(?P<path>[\w./-]+\.md) §(?P<number>\d+(?:\.\d+)*)$")
_KEY = re.compile(r"^(?P<path>[\w./-]+\.toml):(?P<key>[A-Za-z_][\w.\[\]]*)$")
_FILE = re.compile(r"^[\w./-]+\.\w+$")


@dataclass(frozen=True)
class Reference:
    """One reference from the `where` column: a file, a scenario key or a document section."""

    path: str
    key: str | None = None
    section: str | None = None


def parse_reference(text: str) -> Reference:
    """Read one backticked reference; ValueError if it is none of the three forms."""
    if m := _SECTION.match(text):
        return Reference(m["path"], section=m["number"])
    if m := _KEY.match(text):
        return Reference(m["path"], key=m["key"])
    if _FILE.match(text):
        return Reference(text)
    raise ValueError(f"not a reference (`path`, `path.toml:key` or `docs/x.md §N.N`): {text!r}")


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of the one table whose header is exactly COLUMNS, as dicts of stripped cells."""
    lines = text.splitlines()
    header = "| " + " | ".join(COLUMNS) + " |"
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    if len(starts) != 1:
        raise ValueError(f"expected one coverage table with header {header!r}, "
                         f"found {len(starts)}")
    rows = []
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != len(COLUMNS):
            raise ValueError(f"row has {len(cells)} cells, not {len(COLUMNS)}: {line[:80]!r}")
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


@cache
def _scenario(path: str) -> Any:
    return load_scenario(ROOT / path).model_dump(mode="python")


@cache
def _headings(path: str) -> frozenset[str]:
    """Section numbers of a Markdown file's headings: '## 6. Hosting' → '6', '### 5.4 X' → '5.4'."""
    text = (ROOT / path).read_text(encoding="utf-8")
    found = re.findall(r"^#+ (\d+(?:\.\d+)*)\.? ", text, flags=re.MULTILINE)
    return frozenset(found)


def reference_problem(ref: Reference) -> str | None:
    """What is wrong with a reference, or None if it resolves in this repository."""
    if not (ROOT / ref.path).is_file():
        return f"no file {ref.path}"
    if ref.key is not None:
        try:
            get_path(_scenario(ref.path), ref.key)
        except (KeyError, IndexError):
            return f"{ref.path} has no value at {ref.key}"
    if ref.section is not None and ref.section not in _headings(ref.path):
        return f"{ref.path} has no heading §{ref.section}"
    return None


def row_problems(row: dict[str, str]) -> list[str]:
    """Every problem with one row of the table (empty when the row is sound)."""
    name = row["item"][:60] or "<no item>"
    problems = []
    if not row["item"] or not row["source"] or not row["note"]:
        problems.append(f"{name}: item, source and note must all be filled in")
    if row["kind"] not in KINDS:
        problems.append(f"{name}: unknown kind {row['kind']!r}")
    if row["status"] not in STATUSES:
        problems.append(f"{name}: unknown status {row['status']!r}")
    spans = _SPAN.findall(row["where"])
    if row["status"] in CITING and not spans:
        problems.append(f"{name}: status {row['status']!r} cites no file, key or section")
    for span in spans:
        try:
            problem = reference_problem(parse_reference(span))
        except ValueError as exc:
            problem = str(exc)
        if problem:
            problems.append(f"{name}: {problem}")
    return problems


ROWS = parse_table(DOC.read_text(encoding="utf-8"))


def test_the_table_covers_every_kind_from_both_sources() -> None:
    """The table has rows of every kind, and rows from both source documents."""
    assert {row["kind"] for row in ROWS} == KINDS
    assert any(row["source"].startswith("CoE A3") for row in ROWS)
    assert any(row["source"].startswith("DfE 2016") for row in ROWS)


@pytest.mark.parametrize("name", [
    "Local authority hosting", "Central government hosting", "LGA", "ADCS", "Coram",
    "Foundations", "Regional Care Co-operatives", "Data to Insight", "Commissioning Alliance",
    "NCER", "for-profit", "non-profit", "consultancy", "LocalGov Drupal", "accreditation",
    "without approval", "innovation funding ends", "already exist",
    "Epic CIC", "Achieving for Children", "Doncaster", "Triborough", "care leavers' trusts",
    "Community Interest Company", "council owned", "five-year commissioning term",
    "whole-city", "owned by Directors", "Lot 19", "districts", "VAT", "Insurance", "Pensions",
    "Statutory responsibilities", "working capital", "procurement", "Social impact bonds",
    "Inner London Education Authority", "hub and cluster",
])
def test_items_named_in_the_sources_have_a_row(name: str) -> None:
    """A guard against rows being dropped: each of these names appears in some row's item."""
    assert any(name.lower() in row["item"].lower() for row in ROWS), name


def test_every_row_is_sound() -> None:
    """Known kind and status; represented and partly rows cite something; every cite resolves."""
    problems = [p for row in ROWS for p in row_problems(row)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("where", "status", "kind", "expected"), [
    ("`scenarios/la_hosted.toml:hosting.pension_rte`", "represented", "model", "no value at"),
    ("`scenarios/la_hostd.toml`", "represented", "model", "no file"),
    ("`scenarios/commissioned_term.toml:finance.grants[3].basis`", "partly", "model",
     "no value at"),
    ("`docs/model.md §6.9`", "partly", "model", "no heading §6.9"),
    ("`docs/model.md §5.4`", "sort of", "model", "unknown status"),
    ("`docs/model.md §5.4`", "partly", "host", "unknown kind"),
    ("–", "represented", "model", "cites no file"),
    ("`hosting.pension_rate`", "partly", "model", "no file hosting.pension_rate"),
    ("`docs/model.md 5.4`", "partly", "model", "not a reference"),
])
def test_the_checker_finds_made_up_mistakes(where: str, status: str, kind: str,
                                             expected: str) -> None:
    """The checks can fail: a made-up row with one mistake is reported, naming the mistake."""
    text = ("| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|\n"
            f"| A made-up host | {kind} | CoE A3 | {status} | {where} | a note |\n")
    (row,) = parse_table(text)
    problems = row_problems(row)
    assert any(expected in p for p in problems), problems


def test_a_made_up_sound_row_passes() -> None:
    """The same made-up row with correct references has no problem (the checker is not blind)."""
    where = ("`scenarios/la_hosted.toml`, `scenarios/la_hosted.toml:hosting.pension_rate`, "
             "`scenarios/commissioned_term.toml:finance.grants[0].basis`, `docs/model.md §5.4`, "
             "`docs/model.md §6`")
    text = ("| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|\n"
            f"| A made-up host | model | CoE A3 | represented | {where} | a note |\n")
    (row,) = parse_table(text)
    assert row_problems(row) == []


def test_a_row_with_a_stray_pipe_is_refused() -> None:
    """A cell holding a '|' would shift the columns; the parser refuses such a row."""
    text = ("| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|\n"
            "| A | model | CoE A3 | represented | `docs/model.md §6` | a | b |\n")
    with pytest.raises(ValueError, match="cells"):
        parse_table(text)
