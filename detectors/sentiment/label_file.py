"""Read a file of texts labelled by people (CSV or JSONL) for `crisismon sentiment teach`.

Labels are matched case-insensitively after ``--map`` ("complaint=negative,praise=positive")
and must then be negative, neutral or positive. A bad row (empty text, unknown label, missing
column) stops the whole file with one line naming the row, unless the caller keeps going
(``skip_bad``) and lists what it skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from detectors.sentiment.base import LABELS
from detectors.sentiment.batch import BatchError, read_table
from detectors.sentiment.labels import Taught, cleaned
from monitor.privacy import Redactor


class LabelFileError(ValueError):
    """A labelled file that cannot be taught; one readable line."""


@dataclass(frozen=True, slots=True)
class Columns:
    text: str = "text"
    label: str = "label"
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class BadRow:
    row: int  # counted from 1, after the header
    reason: str


@dataclass(frozen=True, slots=True)
class LabelFile:
    examples: list[Taught]
    rows: int
    skipped: list[BadRow]


def parse_map(spec: str | None) -> dict[str, str]:
    """``"complaint=negative, praise=positive"`` as a mapping of lower-cased labels.

    >>> parse_map("Complaint=negative, praise = Positive")
    {'complaint': 'negative', 'praise': 'positive'}
    """
    mapping: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        source, equals, target = item.partition("=")
        source, target = source.strip().lower(), target.strip().lower()
        if not equals or not source:
            raise LabelFileError(f"--map: expected FROM=TO pairs separated by commas, got {item!r}")
        if target not in LABELS:
            raise LabelFileError(
                f"--map: {source}={target or '(nothing)'}: the target must be one of "
                f"{', '.join(LABELS)}"
            )
        mapping[source] = target
    return mapping


def read_labelled(
    path: Path,
    columns: Columns,
    mapping: dict[str, str],
    *,
    skip_bad: bool = False,
    redactor: Redactor | None = None,
) -> LabelFile:
    """The file's (text, label, lang) rows; raises `LabelFileError` on the first bad row
    unless ``skip_bad``, and when no row is usable."""
    try:
        table = read_table(path, columns.text)
    except BatchError as exc:
        raise LabelFileError(str(exc)) from exc
    for option, name in (("--label-column", columns.label), ("--lang-column", columns.lang)):
        if name is not None and name not in table.columns:
            found = ", ".join(table.columns) or "none"
            raise LabelFileError(f"{path}: no {name!r} column (columns: {found}); see {option}")
    examples: list[Taught] = []
    bad: list[BadRow] = []
    for number, row in enumerate(table.rows, 1):
        reason = _problem(row, columns, mapping)
        if reason is not None:
            bad.append(BadRow(number, reason))
        else:
            examples.append(_example(row, columns, mapping, redactor))
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more bad rows)" if len(bad) > 1 else ""
        raise LabelFileError(
            f"{path}: row {bad[0].row}: {bad[0].reason}{more}; nothing was stored "
            "(--skip-bad stores the good rows)"
        )
    if not examples:
        raise LabelFileError(f"{path}: no labelled rows to teach")
    return LabelFile(examples=examples, rows=len(table.rows), skipped=bad)


def _problem(row: dict[str, object], columns: Columns, mapping: dict[str, str]) -> str | None:
    for name in (columns.text, columns.label):
        if name not in row:  # a JSONL line without the key
            return f"no {name!r} value"
    text = row[columns.text]
    if isinstance(text, dict | list):
        return f"column {columns.text!r} holds {type(text).__name__}, not a text"
    if text is None or not str(text).replace("\x00", "").strip():
        return f"empty text in column {columns.text!r}"
    raw = row[columns.label]
    label = _label(raw, mapping)
    if label not in LABELS:
        shown = "" if raw is None else str(raw).strip()
        hint = f"; map it, e.g. --map {shown}=negative" if shown else ""
        return (
            f"label {shown!r} in column {columns.label!r} is not one of "
            f"{', '.join(LABELS)} after --map{hint}"
        )
    return None


def _label(raw: object, mapping: dict[str, str]) -> str:
    value = "" if raw is None else str(raw).strip().lower()
    return mapping.get(value, value)


def _example(
    row: dict[str, object], columns: Columns, mapping: dict[str, str], redactor: Redactor | None
) -> Taught:
    lang = row.get(columns.lang) if columns.lang else None
    text, tag = cleaned(str(row[columns.text]), None if lang is None else str(lang), redactor)
    return (text, _label(row[columns.label], mapping), tag)
