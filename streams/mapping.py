"""Column mappings for `crisismon replay --mapping FILE.yaml`: any CSV or JSONL export in.

The YAML names, for each mention field, the column (or dotted path into a JSON record) that
holds it, plus constants for fields the file lacks::

    columns:
      text: body
      external_id: tweet_id
      event_time: created
      author: user.screen_name   # a dotted path reads nested JSON
      rating: stars
    constants:
      source: twitter
      network: x
    time_format: "%d/%m/%Y %H:%M"  # optional; otherwise ISO 8601 or Unix seconds

>>> mapping = ColumnMapping.model_validate(
...     {"columns": {"text": "body", "author": "user.name", "rating": "stars"},
...      "constants": {"source": "reviews"}})
>>> mapping.apply({"body": "Crashes", "user": {"name": "kim"}, "stars": "2"})
{'source': 'reviews', 'text': 'Crashes', 'author': 'kim', 'rating': 2.0}
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams.replay import Reader, ReplayError, Unusable, read_records

Field_ = Literal[
    "source",
    "text",
    "external_id",
    "event_time",
    "author",
    "customer_id",
    "url",
    "lang",
    "rating",
    "priority",
    "product",
    "network",
    "tags",
]


class ColumnMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[Field_, str] = Field(min_length=1)
    constants: dict[Field_, str | int | float] = {}
    time_format: str | None = None

    def apply(self, record: Any) -> Any:
        """The record as a mention dict, or `Unusable` with the reason."""
        if not isinstance(record, dict):
            return record  # a reason from the file reader, passed on
        mention: dict[str, Any] = {str(k): v for k, v in self.constants.items()}
        for field, column in self.columns.items():
            value = _lookup(record, column)
            if value is None or value == "":
                continue
            try:
                mention[field] = self._convert(field, value)
            except ValueError as exc:
                return Unusable(f"column {column!r} ({field}): {exc}", record)
        return mention

    def _convert(self, field: str, value: Any) -> Any:
        if field == "rating" and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a number") from None
        if field == "event_time" and self.time_format and isinstance(value, str):
            try:
                parsed = datetime.strptime(value.strip(), self.time_format)
            except ValueError:
                raise ValueError(f"{value!r} does not match {self.time_format!r}") from None
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()
        return value


def _lookup(record: dict[str, Any], path: str) -> Any:
    if path in record:
        return record[path]
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate the mapping; errors are one line naming the file and key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReplayError(f"{path}: no such file") from exc
    except yaml.YAMLError as exc:
        raise ReplayError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    try:
        return ColumnMapping.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ReplayError(f"{path}: {where}: {first['msg']}") from exc


def mapped_reader(mapping: ColumnMapping) -> Reader:
    """A replay reader that reads the file as usual, then applies the mapping.

    CSV files need no ``text`` column here: the mapping says where the text is.
    """

    def read(path: Path) -> Iterator[tuple[int, Any]]:
        for number, record in read_records(path, require_text=False):
            yield number, mapping.apply(record)

    return read
