"""Type checks for the Faust records on our topics, run when a record is built or decoded.

Faust builds a record from whatever JSON a topic holds: ``{"watermark": "tomorrow"}`` becomes a
`SeriesTicks` whose watermark is a string, and the agent that reads it crashes later, far from
the cause. `Checked.__post_init__` refuses such a record where it is decoded; Faust then reports
a decode error, which `streams.tolerant_topic` turns into a dead letter.

>>> conforms([1.0, 2], list[float]), conforms(["a", 3], list[str]), conforms(None, str | None)
(True, False, True)
>>> conforms(True, float), conforms(2, float), conforms("2", float)
(False, True, False)
"""

from __future__ import annotations

import types
import typing
from typing import Any


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` (as JSON decodes it) is of type ``hint``; an int passes as a float."""
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, int | float)
    return isinstance(value, hint)


_FIELDS: dict[type, dict[str, Any]] = {}


def _fields(cls: type) -> dict[str, Any]:
    """The annotated fields of ``cls`` itself, resolved once per class."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = {name: hints[name] for name in cls.__annotations__ if name in hints}
    return _FIELDS[cls]


class Checked:
    """Mixin for a `faust.Record`: every field must have its annotated type."""

    def __post_init__(self) -> None:
        for name, hint in _fields(type(self)).items():
            value = getattr(self, name, None)
            if not conforms(value, hint):
                raise ValueError(
                    f"{type(self).__name__}.{name} must be {hint}, not {type(value).__name__}"
                )
