"""Score a user's own file: CSV or JSONL in, CSV out with compound, label and lang added."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from detectors.sentiment.base import Scorer

ADDED = ("compound", "label", "lang")
EXPLAINED = ("confidence", "drivers")


class BatchError(ValueError):
    """The input file cannot be scored; one readable line."""


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[dict[str, Any]]


def read_table(path: Path, text_column: str) -> Table:
    """Read ``.csv`` (header row) or ``.jsonl``/``.ndjson`` (one JSON object per line)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise BatchError(f"{path}: file not found")
    if suffix == ".csv":
        table = _read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        table = _read_jsonl(path)
    else:
        raise BatchError(f"{path}: unknown file type {suffix or '(none)'}; use .csv or .jsonl")
    if text_column not in table.columns:
        found = ", ".join(table.columns) or "none"
        raise BatchError(f"{path}: no {text_column!r} column (columns: {found}); see --text-column")
    return table


def _read_csv(path: Path) -> Table:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BatchError(f"{path}: not a UTF-8 CSV file: {exc}") from exc
    return Table(columns, rows)


def _read_jsonl(path: Path) -> Table:
    columns: dict[str, None] = {}
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BatchError(f"{path}: not UTF-8 text: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BatchError(f"{path}:{number}: not JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise BatchError(f"{path}:{number}: expected a JSON object per line")
        columns.update(dict.fromkeys(record))
        rows.append(record)
    return Table(list(columns), rows)


def output_columns(table: Table, explain: bool) -> tuple[list[str], dict[str, str]]:
    """The CSV header, and where each added value goes.

    An input ``lang`` column is the mentions' own language tag: it is read, then replaced by
    the language scored. An input ``compound`` or ``label`` column is kept, and ours is then
    called ``crisismon_compound`` or ``crisismon_label``.
    """
    added = ADDED + (EXPLAINED if explain else ())
    names = {
        name: name if name == "lang" or name not in table.columns else f"crisismon_{name}"
        for name in added
    }
    columns = list(table.columns)
    columns += [names[name] for name in added if names[name] not in columns]
    return columns, names


def score_table(
    table: Table,
    scorer: Scorer,
    out: TextIO,
    *,
    text_column: str,
    explain: bool = False,
    advance: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write the scored CSV to ``out``; return how many rows got each label."""
    columns, names = output_columns(table, explain)
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    counts: dict[str, int] = {}
    for row in _rows(table):
        text = row.get(text_column)
        lang = row.get("lang")
        sentiment = scorer.score(
            "" if text is None else str(text), str(lang) if lang not in (None, "") else None
        )
        flat = {k: _cell(v) for k, v in row.items()}
        flat[names["compound"]] = f"{sentiment.compound:.4f}"
        flat[names["label"]] = sentiment.label
        flat[names["lang"]] = sentiment.lang or ""
        if explain:
            flat[names["confidence"]] = f"{sentiment.confidence:.4f}"
            flat[names["drivers"]] = " | ".join(sentiment.drivers)
        writer.writerow(flat)
        counts[sentiment.label] = counts.get(sentiment.label, 0) + 1
        if advance is not None:
            advance(1)
    return counts


def _rows(table: Table) -> Iterator[dict[str, Any]]:
    yield from table.rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
