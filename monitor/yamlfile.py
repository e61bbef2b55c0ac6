"""YAML that remembers where each value was written, so errors can name the file and line.

PyYAML's ``compose`` keeps a node tree with marks; we build plain Python values from it and a
map from each path (``("steps", 0, "channel")``) to its 1-based line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class ConfigFileError(ValueError):
    """A config file is unusable; the message starts with ``file:line:``."""


class Located:
    """Plain data from a YAML file, with the line of every value."""

    def __init__(self, path: Path, data: Any, lines: dict[Path_, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, loc: Path_) -> int:
        """The line of the deepest known prefix of ``loc`` (pydantic locations may go deeper)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1

    def line_of_error(self, loc: tuple[str | int, ...]) -> int:
        """The line of a pydantic error's location (union tags and markers left out)."""
        return self.line_of(_in_file(self.data, loc))

    def error(self, loc: Path_, message: str) -> ConfigFileError:
        where = ".".join(str(p) for p in loc)
        prefix = f"{where}: " if where else ""
        return ConfigFileError(f"{self.path}:{self.line_of(loc)}: {prefix}{message}")

    def validate(self, model: type[M]) -> M:
        """Validate against ``model``; the first error names its line."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = _in_file(self.data, tuple(first["loc"]))
            raise self.error(loc, str(first["msg"]).removeprefix("Value error, ")) from None


def _in_file(data: Any, loc: Path_) -> Path_:
    """Drop the parts pydantic adds for unions (tags, 'function-after[…]') from a location."""
    kept: list[str | int] = []
    for index, part in enumerate(loc):
        if part == "[key]":
            continue  # pydantic's marker for "the key itself is wrong": the key's line says it
        if isinstance(data, dict) and isinstance(part, str) and part not in data:
            following = loc[index + 1] if index + 1 < len(loc) else None
            if "[" in part or part.startswith("function-") or following in data:
                continue  # a union tag: the real key comes next
        kept.append(part)
        if isinstance(data, dict):
            data = data.get(part) if isinstance(part, str) else None
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(kept)


def load(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigFileError(not_utf8(path, exc)) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}:{yaml_problem(exc, text)}") from None
    lines: dict[Path_, int] = {}
    data = _build(node, (), lines) if node is not None else {}
    return Located(path, data, lines)


def not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    """``file: not UTF-8 (byte 0x.. at position N)``: where to look, without a traceback."""
    return f"{path}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at position {exc.start})"


def yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    """``LINE: not valid YAML: …`` for a YAML error, at the line the mistake is on.

    PyYAML's ``problem_mark`` is where it gave up, which for a quote left open is far below the
    mistake: a double-quoted value runs on over the next lines until some later ``"`` closes it
    (the scanner then stumbles on whatever follows), or to the end of the file. Both cases are
    told by the quoted value that spans lines, and the line its quote opened on is reported.
    """
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context", None) or ""
    context_mark = getattr(exc, "context_mark", None)
    if "quoted scalar" in context and context_mark is not None:
        return f"{context_mark.line + 1}: not valid YAML: a quoted value is not closed"
    opened = _open_quote_before(text, mark.index) if mark is not None else None
    if opened is not None:
        return (
            f"{opened.start_mark.line + 1}: not valid YAML: the quote opened here is not closed "
            f"on its line, so the value runs on to line {opened.end_mark.line + 1} ({problem})"
        )
    return f"{mark.line + 1 if mark else 1}: not valid YAML: {problem}"


def _open_quote_before(text: str, index: int) -> yaml.ScalarToken | None:
    """The last quoted value before ``index`` if it spans lines and ends on the error's line
    or the one before: almost always a quote left open, rarely a value meant to wrap."""
    last: yaml.ScalarToken | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= index:
                break
            if isinstance(token, yaml.ScalarToken):
                last = token
    except yaml.YAMLError:
        pass  # the tokens up to the error are all we want
    if last is None or last.style not in {'"', "'"}:
        return None
    if last.start_mark.line == last.end_mark.line:
        return None
    error_line = text.count("\n", 0, index)
    return last if error_line - last.end_mark.line <= 1 else None


def _build(node: yaml.Node, at: Path_, lines: dict[Path_, int]) -> Any:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node))
            result[key] = _build(value_node, (*at, key), lines)
            lines[(*at, key)] = key_node.start_mark.line + 1  # errors point at the key
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*at, i), lines) for i, child in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigFileError(f"line {node.start_mark.line + 1}: expected a plain value")
    return yaml.SafeLoader("").construct_object(node)
