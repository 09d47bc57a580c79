"""Errors in input files, each said in one line: the file, the key path, the value and the rule.

:class:`ScenarioError` is raised for every bad input file: scenarios, sweep files and (as its
subclass ``CalibrationError``) calibration specs. :func:`explain_validation_error` turns a
pydantic ``ValidationError`` of any of their schemas into that line's key path and message, so
all three read alike::

    scenarios/x.toml: finance.grants[0].end_month must be after start_month (24), got 12
    scenarios/x.toml: uptake.p_per_yr is not a known key (did you mean 'p_per_year'?); allowed ...
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.keys import split_key_path

__all__ = ["ScenarioError", "explain_validation_error", "loc_path", "schema_class_at", "shorten",
           "short_repr"]

MAX_VALUE_CHARS = 80
"""Longest value an error message repeats (longer ones are cut, with an ellipsis)."""
MAX_PATH_CHARS = 200
"""Longest key path or file name an error message repeats."""
MAX_MESSAGE_CHARS = 800
"""Longest rule text an error message carries (a list of allowed keys fits)."""


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis and the length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def short_repr(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` shortened: an error shows what was given, never a whole file of it."""
    return shorten(repr(value), limit)


class ScenarioError(Exception):
    """A problem in an input file, with everything a user needs to fix it in one message.

    Attributes
    ----------
    source : the file (or ``--set``) the problem is in.
    path : the key path, e.g. ``finance.grants[0].end_month`` (empty for the whole file).
    message : the rule broken and the value found.
    """

    def __init__(self, source: str, path: str, message: str):
        self.source = shorten(source, MAX_PATH_CHARS)
        self.path = shorten(path, MAX_PATH_CHARS)
        self.message = shorten(message, MAX_MESSAGE_CHARS)
        source, path, message = self.source, self.path, self.message
        where = f"{path} " if path else ""
        super().__init__(f"{source}: {where}{message}")


def loc_path(loc: Iterable[Any]) -> str:
    """A pydantic error location as a key path: ``("finance", "grants", 0)`` →
    ``finance.grants[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def schema_class_at(root: type[BaseModel], parents: Iterable[Any]) -> type[BaseModel] | None:
    """The schema class reached from ``root`` by the key path ``parents`` (list indices are
    skipped; ``tuple[Model, ...]`` and ``Model | None`` lead to ``Model``), or None."""
    model: Any = root
    for part in parents:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        if str(part) not in model.model_fields:
            return None
        hint = typing.get_type_hints(model)[str(part)]
        args = [a for a in typing.get_args(hint)
                if isinstance(a, type) and issubclass(a, BaseModel)]
        model = args[0] if args else hint
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unknown_key(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    model = schema_class_at(root, loc[:-1])
    if model is None:
        return "is not a known key"
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"is not a known key{hint}; allowed here: {', '.join(model.model_fields)}"


def _describe(root: type[BaseModel], error: Mapping[str, Any]) -> tuple[str, str]:
    """(key path, message) of one pydantic error."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return loc_path(loc), _unknown_key(root, loc)
    if kind == "missing":
        return loc_path(loc), "is required but missing"
    message = re.sub(r"^(Value error|Assertion failed), ", "", str(error["msg"]))
    message = re.sub(r"^Input should be", "must be", message)
    message = message[:1].lower() + message[1:]
    if kind == "value_error":
        # A rule across the fields of one table is reported at the table, its message starting
        # with the field it is about: move that field into the key path.
        model = schema_class_at(root, loc)
        first, _, rest = message.partition(" ")
        if model is not None and rest and first in model.model_fields:
            loc, message = (*loc, first), rest
        elif model is not None and rest:
            # ... or with a key path below the table (``finance.grants[0].renewal_prob must``,
            # ``hosting.teckal: ...``): that path is the key.
            try:
                parts = split_key_path(first.rstrip(":"))
            except ValueError:
                parts = []
            if parts and parts[0] in model.model_fields:
                loc, message = (*loc, *parts), rest
    if isinstance(value, Mapping) or ", got " in message:
        return loc_path(loc), message  # a table's rule names the values it compares
    return loc_path(loc), f"{message}, got {short_repr(value)}"


def explain_validation_error(exc: ValidationError, root: type[BaseModel]) -> tuple[str, str]:
    """The key path and the message of the first problem of ``exc`` (raised validating the
    schema ``root``), with a count of any others: ``("uptake.q_per_year", "must be greater than
    or equal to 0, got -1.0 (and 1 more problem)")``."""
    errors = exc.errors()
    path, message = _describe(root, errors[0])
    extra = len(errors) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return path, message
