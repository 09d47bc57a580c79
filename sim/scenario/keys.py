"""Key paths of scenario values: ``finance.grants[0].end_month`` → its parts. Shared by loading
(overrides), error messages (the key a rule names) and the experiments (sweep parameters)."""

from __future__ import annotations

import re

__all__ = ["split_key_path"]

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def split_key_path(path: str) -> list[str | int]:
    """``finance.grants[0].end_month`` → ``["finance", "grants", 0, "end_month"]``; ValueError
    (with the rule) for text that is not a key path."""
    parts: list[str | int] = []
    for chunk in path.split("."):
        match = _SEGMENT.fullmatch(chunk)
        if not match:
            raise ValueError(f"is not a key path (write e.g. finance.grants[0].end_month), "
                             f"got {path!r}")
        parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts
