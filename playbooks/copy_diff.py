"""What an edit changed in a draft's copy: a line diff of subject, text and HTML (difflib).

The lines stay plain strings; the page escapes them (Jinja2 autoescape) and colours them by
``op`` with CSS classes, so a diff of HTML source shows the source, never renders it.

>>> [(line.op, line.text) for line in diff_lines("a\\nb", "a\\nc")]
[(' ', 'a'), ('-', 'b'), ('+', 'c')]
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any, Literal

Op = Literal[" ", "-", "+"]
PARTS = ("subject", "text", "html")


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: kept (" "), removed ("-") or added ("+")."""

    op: Op
    text: str

    @property
    def css(self) -> str:
        return {" ": "same", "-": "removed", "+": "added"}[self.op]


@dataclass(frozen=True)
class PartDiff:
    """The diff of one part of the copy (subject, text or html); ``changed`` is False when equal."""

    part: str
    lines: list[DiffLine]

    @property
    def changed(self) -> bool:
        return any(line.op != " " for line in self.lines)

    def as_json(self) -> dict[str, Any]:
        lines = [asdict(line) for line in self.lines]
        return {"part": self.part, "changed": self.changed, "lines": lines}


def diff_lines(old: str, new: str) -> list[DiffLine]:
    """Every line of ``old`` and ``new`` in order, marked kept, removed or added."""
    before, after = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            lines += [DiffLine(" ", text) for text in before[a0:a1]]
            continue
        lines += [DiffLine("-", text) for text in before[a0:a1]]
        lines += [DiffLine("+", text) for text in after[b0:b1]]
    return lines


def diff_copy(old: dict[str, str], new: dict[str, str]) -> list[PartDiff]:
    """The diff of each part (subject, text, html) present in either version."""
    return [
        PartDiff(part, diff_lines(old.get(part, ""), new.get(part, "")))
        for part in PARTS
        if old.get(part) or new.get(part)
    ]
