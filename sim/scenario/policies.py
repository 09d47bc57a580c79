"""The condition language of adaptive policies (docs/model.md §12): parsed here, never
evaluated as code.

A condition compares named quantities of the Centre's last recorded month with numbers or
with each other, joined by ``and``, ``or``, ``not`` and parentheses::

    months_of_cover < 12 and members >= 20
    not (viable == 1) or reserves_gbp < 0

:func:`parse_condition` turns the text into a small tree of tuples (``("cmp", op, left,
right)`` with operands ``("var", name)`` or ``("num", value)``; ``("and", a, b)``, ``("or",
a, b)``, ``("not", a)``), refusing anything else with a one-line reason; the model evaluates
the tree on every replicate at once (:mod:`sim.model.policies`). The names are
:data:`POLICY_VARIABLES`: metrics the model records each month (docs/outputs.md §3.1), and
``month`` and ``calendar_month``.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["COMPARISONS", "POLICY_VARIABLES", "parse_condition", "variables_of"]

POLICY_VARIABLES: dict[str, str] = {
    "reserves_gbp": "month-end reserves (£)",
    "months_of_cover": "reserves ÷ monthly running costs (months)",
    "below_reserves_policy": "1 if reserves are below the reserves policy",
    "net_gbp": "income − costs in the month (£)",
    "income_total_gbp": "income in the month (£)",
    "costs_total_gbp": "costs in the month (£)",
    "income_subscriptions_gbp": "subscriptions received in the month (£)",
    "income_grant_gbp": "grant income in the month (£)",
    "members": "member LAs",
    "market_las": "LAs that would pay the price charged now",
    "staff_fte": "staff in post (FTE)",
    "vacancies": "funded posts not filled (FTE)",
    "funded_posts": "funded posts (FTE)",
    "live_services": "live services",
    "reliability_mean": "mean reliability of the live services (0–1)",
    "reputation": "the Centre's reputation (0–1)",
    "viable": "1 if the Centre is working (viable) this month",
    "operating": "1 if the Centre is open",
    "value_delivered_gbp": "value of the live services to members in the month (£)",
    "benefit_cost_ratio": "value delivered ÷ costs of provision in the month",
    "hiring_frozen": "1 if recruitment is frozen",
    "price_factor": "this year's price ÷ the list price",
    "month": "months since the start (0 = the first month), of the month now starting",
    "calendar_month": "calendar month of the month now starting (1 = January … 4 = April)",
}
"""The names a condition may use, with what each means (all but the last two are recorded
monthly metrics; a test checks that each is one)."""

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
MAX_CONDITION_CHARS = 500

_TOKEN = re.compile(r"\s*(?:(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
                    r"|(?P<op><=|>=|==|!=|<|>)|(?P<paren>[()])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"cannot read the condition from {text[pos:pos + 20]!r} on "
                             "(names, numbers, < <= > >= == !=, and, or, not, parentheses)")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.i = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ValueError("the condition ends too soon")
        self.i += 1
        return token

    def expression(self) -> Any:
        left = self.conjunction()
        while self.peek() == ("name", "or"):
            self.take()
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.negation()
        while self.peek() == ("name", "and"):
            self.take()
            left = ("and", left, self.negation())
        return left

    def negation(self) -> Any:
        if self.peek() == ("name", "not"):
            self.take()
            return ("not", self.negation())
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.expression()
            if self.take() != ("paren", ")"):
                raise ValueError("a '(' is not closed")
            return inner
        return self.comparison()

    def operand(self) -> tuple[str, Any]:
        kind, text = self.take()
        if kind == "num":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(f"{text} is not a finite number")
            return ("num", value)
        if kind == "name" and text not in ("and", "or", "not"):
            if text not in POLICY_VARIABLES:
                raise ValueError(f"{text!r} is not a quantity a condition can read (one of "
                                 f"{', '.join(sorted(POLICY_VARIABLES))})")
            return ("var", text)
        raise ValueError(f"expected a name or a number, got {text!r}")

    def comparison(self) -> Any:
        left = self.operand()
        kind, op = self.take()
        if kind != "op":
            raise ValueError(f"expected a comparison (< <= > >= == !=) after {left[1]!r}, "
                             f"got {op!r}")
        return ("cmp", op, left, self.operand())


def parse_condition(text: str) -> Any:
    """The condition's tree; ValueError with the reason for anything not in the language."""
    if len(text) > MAX_CONDITION_CHARS:
        raise ValueError(f"a condition is at most {MAX_CONDITION_CHARS} characters")
    tokens = _tokens(text)
    if not tokens:
        raise ValueError("the condition is empty")
    parser = _Parser(tokens)
    tree = parser.expression()
    if parser.peek() is not None:
        raise ValueError(f"unexpected {parser.peek()[1]!r} after a complete condition")  # type: ignore[index]
    return tree


def variables_of(tree: Any) -> set[str]:
    """The names a condition's tree reads."""
    if tree[0] == "var":
        return {tree[1]}
    if tree[0] == "num":
        return set()
    if tree[0] == "cmp":
        return variables_of(tree[2]) | variables_of(tree[3])
    return set().union(*(variables_of(part) for part in tree[1:]))
