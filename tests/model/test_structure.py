"""The declared structure (sim/model/structure.py) names code that exists, its loops agree with
docs/model.md §9, and the diagram is drawn from it."""

from __future__ import annotations

import dataclasses
import importlib
import re
import shutil
import typing
from pathlib import Path

import pytest

from sim.model.codes import Ladder, Role
from sim.model.state import BatchState, MonthFlows
from sim.model.structure import FLOWS, LOOPS, STOCKS, VARIABLES, Loop, Stock, dot_source, loop_links

ROOT = Path(__file__).resolve().parents[2]
MODEL_MD = ROOT / "docs" / "model.md"


def _attribute_exists(cls: type, path: str) -> bool:
    """Whether the dotted attribute ``path`` names a dataclass field (through nested
    dataclasses) of ``cls``."""
    for part in path.split("."):
        if not dataclasses.is_dataclass(cls):
            return False
        hints = typing.get_type_hints(cls)
        if part not in {f.name for f in dataclasses.fields(cls)}:
            return False
        cls = hints[part] if isinstance(hints[part], type) else object
    return True


def _rule_exists(dotted: str) -> bool:
    module, _, name = dotted.rpartition(".")
    try:
        return callable(getattr(importlib.import_module(module), name, None))
    except ImportError:
        return False


def stock_problems(stocks: tuple[Stock, ...]) -> list[str]:
    """Stocks whose attribute or selector does not exist in the code."""
    problems = []
    for s in stocks:
        if not _attribute_exists(BatchState, s.where):
            problems.append(f"{s.name}: BatchState has no {s.where}")
        if s.selector and s.selector not in Ladder.__members__ | Role.__members__:
            problems.append(f"{s.name}: no code {s.selector}")
    return problems


def _resolves(ref: str) -> bool:
    kind, _, target = ref.partition(":")
    if not target:
        return ref in {s.name for s in STOCKS}
    if kind == "rule":
        return _rule_exists(target)
    if kind == "state":
        head, _, rest = target.partition(".")
        if head == "flows":
            return rest in {f.name for f in dataclasses.fields(MonthFlows)}
        return _attribute_exists(BatchState, target)
    return False


def loop_problems(loops: tuple[Loop, ...]) -> list[str]:
    """Loops that do not close, name undeclared variables, or whose polarity is not the
    product of their links' signs."""
    declared = {v.name for v in VARIABLES}
    problems = []
    for lp in loops:
        links = loop_links(lp)
        if links[0].cause != links[-1].effect:
            problems.append(f"{lp.key} does not close")
        for name in {x for link in links for x in (link.cause, link.effect)} - declared:
            problems.append(f"{lp.key}: {name} is not declared")
        sign = 1
        for link in links:
            sign *= link.sign
        if lp.polarity != ("R" if sign > 0 else "B"):
            problems.append(f"{lp.key}: polarity {lp.polarity}, links give {sign:+d}")
    return problems


def _anchors() -> set[str]:
    """GitHub's anchors of docs/model.md's headings."""
    heads = re.findall(r"^#+ (.+)$", MODEL_MD.read_text(encoding="utf-8"), flags=re.M)
    return {"#" + re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_every_declared_stock_is_an_attribute_of_the_state() -> None:
    """Each stock names a BatchState attribute (and a Ladder or Role code) that exists."""
    assert stock_problems(STOCKS) == []


def test_checker_catches_a_stock_missing_from_the_code() -> None:
    """A stock whose attribute was renamed away is reported."""
    gone = Stock("x", "x", "–", "portfolio.no_such_thing")
    wrong = Stock("y", "y", "LAs", "ladder", "NO_SUCH_STATE")
    assert len(stock_problems((gone, wrong))) == 2


def test_every_flow_joins_declared_stocks_through_a_rule_that_exists() -> None:
    """Each flow's ends are declared stocks (or outside) and its rule is a function of sim.model."""
    names = {s.name for s in STOCKS} | {""}
    for f in FLOWS:
        assert f.source in names and f.target in names, f.name
        assert f.rule.startswith("sim.model.") and _rule_exists(f.rule), f.rule


def test_every_variable_names_code_that_exists() -> None:
    """Each loop variable is a stock, a state attribute or a rule function that exists."""
    assert [v.name for v in VARIABLES if not _resolves(v.ref)] == []


def test_loops_close_and_their_polarity_is_the_product_of_their_signs() -> None:
    """R loops have an even number of negative links, B loops an odd one."""
    assert loop_problems(LOOPS) == []


def test_checker_catches_a_wrong_polarity_and_an_undeclared_variable() -> None:
    """A balancing loop labelled R, and a loop through an unknown variable, are reported."""
    bad = (Loop("R9", "x", "R", "reserves > surrender > -reserves", "#x"),
           Loop("B9", "y", "B", "reserves > nowhere > -reserves", "#x"))
    assert len(loop_problems(bad)) == 2


def test_loops_are_those_of_model_md_section_9() -> None:
    """Every loop of docs/model.md §9 is declared, with its name, and nothing else is."""
    text = MODEL_MD.read_text(encoding="utf-8")
    section = text.split("## 9. Feedback loops in this code")[1].split("\n## 10.")[0]
    documented = dict(re.findall(r"\*\*([RB]\d+[a-z]?) ([^*]+?)\.?\*\*", section))
    assert documented == {lp.key: lp.name for lp in LOOPS}


def test_every_anchor_is_a_heading_of_model_md() -> None:
    """Each stock, flow and loop links to a section that exists."""
    anchors = _anchors()
    for item in (*STOCKS, *FLOWS, *LOOPS):
        assert item.anchor in anchors, (item, item.anchor)


def test_diagram_names_every_stock_and_loop() -> None:
    """The DOT text holds every stock, flow and loop, each loop as reinforcing or balancing."""
    dot = dot_source()
    for s in STOCKS:
        assert f'"{s.name}" [label=' in dot
    for lp in LOOPS:
        word = "reinforcing" if lp.polarity == "R" else "balancing"
        assert f"<B>{lp.key}</B></FONT> {lp.name.replace('&', '&amp;')} ({word})" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_shipped_diagram_is_drawn_from_the_declarations() -> None:
    """docs/structure.svg holds each loop with its link into docs/model.md."""
    svg = (ROOT / "docs" / "structure.svg").read_text(encoding="utf-8")
    for lp in LOOPS:
        assert f"model.md{lp.anchor}" in svg, lp.key
        assert f"{lp.key}" in svg
