"""Column mappings for `crisismon replay --mapping FILE.yaml`: any CSV or JSONL export in.

The YAML names, for each mention field, the column (or dotted path into a JSON record) that
holds it, plus constants for fields the file lacks::

    columns:
      text: body
      external_id: tweet_id
      event_time: created
      author: user.screen_name   # a dotted path reads nested JSON
      rating: stars
      attributes.region: Region   # an attribute (see docs/dimensions.md)
    constants:
      source: twitter
      network: x
      attributes.plan: pro
    time_format: "%d/%m/%Y %H:%M"  # optional; otherwise ISO 8601 or Unix seconds

>>> mapping = ColumnMapping.model_validate(
...     {"columns": {"text": "body", "author": "user.name", "rating": "stars",
...                  "attributes.region": "geo.region"},
...      "constants": {"source": "reviews"}})
>>> mention = mapping.apply({"body": "Crashes", "user": {"name": "kim"}, "stars": "2",
...                          "geo": {"region": "EU"}})
>>> mention["text"], mention["author"], mention["rating"], mention["attributes"]
('Crashes', 'kim', 2.0, {'region': 'EU'})
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from monitor.yamlfile import not_utf8
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
_FIELDS = get_args(Field_)
_ATTRIBUTE_PREFIX = "attributes."
_ATTRIBUTE_RE = re.compile(r"^attributes\.[a-z0-9_]{1,40}$")


def _mapped_field(name: str) -> str:
    """A mention field, or ``attributes.<name>`` for one attribute."""
    if name in _FIELDS or _ATTRIBUTE_RE.match(name):
        return name
    raise ValueError(
        f"unknown field {name!r}: one of {', '.join(_FIELDS)}, or attributes.<name> "
        "(1-40 of a-z, 0-9, _)"
    )


MappedField = Annotated[str, AfterValidator(_mapped_field)]


class ColumnMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[MappedField, str] = Field(min_length=1)
    constants: dict[MappedField, str | int | float | bool] = {}
    time_format: str | None = None

    def apply(self, record: Any) -> Any:
        """The record as a mention dict, or `Unusable` with the reason."""
        if not isinstance(record, dict):
            return record  # a reason from the file reader, passed on
        mention: dict[str, Any] = {}
        for field, constant in self.constants.items():
            _put(mention, field, constant)
        for field, column in self.columns.items():
            value = _lookup(record, column)
            if value is None or value == "":
                continue
            try:
                _put(mention, field, self._convert(field, value))
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


def _put(mention: dict[str, Any], field: str, value: Any) -> None:
    if field.startswith(_ATTRIBUTE_PREFIX):
        mention.setdefault("attributes", {})[field.removeprefix(_ATTRIBUTE_PREFIX)] = value
    else:
        mention[field] = value


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
    except UnicodeDecodeError as exc:
        raise ReplayError(not_utf8(path, exc)) from None
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
