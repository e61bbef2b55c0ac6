"""Dimensions: attributes that become series of their own, ``region:eu``, ``plan:pro``.

``config/dimensions.yaml`` declares them. A value is lower-cased and slugged (``EU West`` is
``eu-west``). Cardinality is capped per dimension: the first ``max_values`` distinct values
seen get their own series, every later one counts in ``<dimension>:other`` (or: an explicit
``values:`` list is admitted, the rest is ``other``). Admission is first come, first served,
and must be the same on every worker and in the backtest, so live workers admit through the
``dimension_values`` table (`SqlAdmission`, one insert per new value, with an in-memory
mirror) and the backtest through `MemoryAdmission`; both admit a batch in event-time order.
Drill mentions never admit a value: a drill must not change what real traffic counts in.

>>> from datetime import UTC, datetime
>>> from streams.mentions import MentionIn
>>> dims = DimensionSeries(default_dimensions(), MemoryAdmission())
>>> m = MentionIn("x", "1", "hi", datetime(2026, 1, 1, tzinfo=UTC),
...               attributes=(("plan", "Pro"), ("region", "EU West")))
>>> dims.admitted([m]).keys_of(m)
['region:eu-west', 'plan:pro']
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine, select

from detectors.config import load_yaml_model
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import DimensionValue
from streams.mentions import MentionIn

OTHER = "other"
DEFAULT_MAX_VALUES = 12
MAX_SLUG_CHARS = 60
# Series kinds of their own; a dimension of these names would mix with them. ``segment`` is
# allowed on purpose: a sender-known segment counts in the customer-table segment series.
RESERVED = frozenset({"global", "source", "lang", "topic", "product", "reviews", "drill"})
_NAME = r"^[a-z0-9_]{1,40}$"
_NOT_SLUG_RE = re.compile(r"[^a-z0-9_.-]+")


@lru_cache(maxsize=8192)  # per mention and dimension at ingest; the values repeat
def slug(value: str) -> str:
    """A value as it appears in a series key: lower-case ASCII of ``a-z0-9_.-``.

    >>> slug("EU West"), slug("Café"), slug("4.12.0"), slug("日本")
    ('eu-west', 'cafe', '4.12.0', 'hcf2abf0c')
    """
    ascii_ = unicodedata.normalize("NFKD", value.lower()).encode("ascii", "ignore").decode()
    cleaned = _NOT_SLUG_RE.sub("-", ascii_).strip("-.")[:MAX_SLUG_CHARS].strip("-.")
    # A value with no Latin letters or digits keeps its own series under a short hash.
    return cleaned or "h" + hashlib.sha256(value.encode()).hexdigest()[:8]


class DimensionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The attribute to read; the dimension's own name when not given.
    attribute: str | None = Field(default=None, pattern=_NAME)
    max_values: int = Field(default=DEFAULT_MAX_VALUES, ge=1, le=500)
    values: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, min_length=1, max_length=500
    )


class DimensionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimensions: dict[Annotated[str, Field(pattern=_NAME)], DimensionSpec | None] = {}

    @field_validator("dimensions")
    @classmethod
    def _not_reserved(
        cls, value: dict[str, DimensionSpec | None]
    ) -> dict[str, DimensionSpec | None]:
        clash = sorted(set(value) & RESERVED)
        if clash:
            raise ValueError(
                f"{', '.join(clash)} is a series kind of its own; name the dimension otherwise "
                "and point it at the attribute with `attribute:`"
            )
        return value


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    attribute: str
    max_values: int = DEFAULT_MAX_VALUES
    values: frozenset[str] | None = None  # slugs; None: first come, first served


def default_dimensions() -> tuple[Dimension, ...]:
    """What config/dimensions.yaml ships with, used when the file is absent."""
    return (
        Dimension("region", "region"),
        Dimension("country", "country", max_values=30),
        Dimension("segment", "segment"),
        Dimension("plan", "plan"),
        Dimension("app_version", "app_version"),
    )


def load_dimensions(path: Path) -> tuple[Dimension, ...]:
    """The declared dimensions; `ConfigError` naming the file and key when invalid."""
    if not path.exists():
        return default_dimensions()
    parsed = load_yaml_model(path, DimensionsFile)
    built = []
    for name, spec in parsed.dimensions.items():
        spec = spec or DimensionSpec()
        values = frozenset(slug(v) for v in spec.values) if spec.values else None
        built.append(Dimension(name, spec.attribute or name, spec.max_values, values))
    return tuple(built)


class Admission(Protocol):
    """Which values of a dimension have their own series, admitting new ones while room lasts."""

    def admit(self, dimension: str, slugs: Sequence[str], *, limit: int) -> frozenset[str]:
        """Admit ``slugs`` in order while fewer than ``limit`` are; the admitted among them."""
        ...

    def known(self, dimension: str, slugs: Sequence[str]) -> frozenset[str]:
        """Those of ``slugs`` already admitted; admits nothing."""
        ...


@dataclass(slots=True)
class MemoryAdmission:
    """First come, first served in this process: the backtest and simulations."""

    admitted_values: dict[str, list[str]] = field(default_factory=dict)

    def admit(self, dimension: str, slugs: Sequence[str], *, limit: int) -> frozenset[str]:
        values = self.admitted_values.setdefault(dimension, [])
        for value in slugs:
            if value not in values and len(values) < limit:
                values.append(value)
        return frozenset(values).intersection(slugs)

    def known(self, dimension: str, slugs: Sequence[str]) -> frozenset[str]:
        return frozenset(self.admitted_values.get(dimension, ())).intersection(slugs)


@dataclass(slots=True)
class SqlAdmission:
    """First come, first served across workers, through the ``dimension_values`` table.

    The mirror holds what this process has seen admitted; admitted values are never taken
    back, so the mirror is only ever behind, and a dimension once full stays full.
    """

    engine: Engine
    _mirror: dict[str, set[str]] = field(default_factory=dict)
    _full: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, dimension: str, slugs: Sequence[str], *, limit: int) -> frozenset[str]:
        with self._lock:
            mirror = self._mirror.setdefault(dimension, set())
            new = [s for s in dict.fromkeys(slugs) if s not in mirror]
            if new and dimension not in self._full:
                self._admit_new(dimension, new, limit)
            return frozenset(mirror).intersection(slugs)

    def known(self, dimension: str, slugs: Sequence[str]) -> frozenset[str]:
        with self._lock:
            mirror = self._mirror.setdefault(dimension, set())
            if any(s not in mirror for s in slugs) and dimension not in self._full:
                with session_scope(self.engine) as session:
                    mirror.update(self._stored(session, dimension).values())
            return frozenset(mirror).intersection(slugs)

    def _admit_new(self, dimension: str, new: list[str], limit: int) -> None:
        table = DimensionValue.__table__  # type: ignore[attr-defined]
        mirror = self._mirror[dimension]
        with session_scope(self.engine) as session:
            stored = self._stored(session, dimension)
            for value in new:
                # Each try takes the next free slot; a conflict means another worker took that
                # slot (or admitted this value) meanwhile, so read again and retry.
                while value not in stored.values() and len(stored) < limit:
                    slot = max(stored, default=-1) + 1
                    insert = (
                        insert_for(session, table)
                        .values(
                            dimension=dimension,
                            slot=slot,
                            value=value,
                            admitted_at=datetime.now(UTC),
                        )
                        .on_conflict_do_nothing()
                        .returning(table.c.slot)
                    )
                    if session.execute(insert).first() is not None:
                        stored[slot] = value
                    else:
                        stored = self._stored(session, dimension)
            mirror.update(stored.values())
            if len(stored) >= limit:
                self._full.add(dimension)

    @staticmethod
    def _stored(session: object, dimension: str) -> dict[int, str]:
        table = DimensionValue.__table__  # type: ignore[attr-defined]
        rows = session.execute(  # type: ignore[attr-defined]
            select(table.c.slot, table.c.value).where(table.c.dimension == dimension)
        ).all()
        return {int(slot): str(value) for slot, value in rows}


@dataclass(frozen=True, slots=True)
class Admitted:
    """The admitted values a batch's mentions need, per dimension: turns a mention into keys."""

    dimensions: tuple[Dimension, ...] = ()
    values: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def keys_of(self, mention: MentionIn) -> list[str]:
        keys = []
        for dimension in self.dimensions:
            raw = mention.attribute(dimension.attribute)
            if raw is None:
                continue
            value = slug(raw)
            own = value != OTHER and value in self.values.get(dimension.name, ())
            keys.append(f"{dimension.name}:{value if own else OTHER}")
        return keys


NO_DIMENSIONS = Admitted()


@dataclass(frozen=True, slots=True)
class DimensionSeries:
    """The declared dimensions and where their admitted values are kept."""

    dimensions: tuple[Dimension, ...]
    admission: Admission

    def admitted(self, mentions: Iterable[MentionIn]) -> Admitted:
        """Admit the batch's new values, real mentions in event-time order; drills only look."""
        carrying = sorted(
            (m for m in mentions if m.attributes), key=lambda m: (m.event_time, m.mention_id)
        )
        values: dict[str, frozenset[str]] = {}
        for dimension in self.dimensions:
            if dimension.values is not None:
                values[dimension.name] = dimension.values
                continue
            real, drill = _slugs(carrying, dimension)
            found = (
                self.admission.admit(dimension.name, real, limit=dimension.max_values)
                if real
                else frozenset()
            )
            rest = [s for s in drill if s not in found]
            if rest:
                found |= self.admission.known(dimension.name, rest)
            values[dimension.name] = found
        return Admitted(self.dimensions, values)


def offline_dimensions(config_dir: Path) -> DimensionSeries:
    """The config dir's dimensions, admitted in memory: for the backtest and simulations."""
    return DimensionSeries(load_dimensions(config_dir / "dimensions.yaml"), MemoryAdmission())


def _slugs(mentions: Sequence[MentionIn], dimension: Dimension) -> tuple[list[str], list[str]]:
    """The distinct slugs of real and of drill mentions, in order of first appearance."""
    real: dict[str, None] = {}
    drill: dict[str, None] = {}
    for mention in mentions:
        raw = mention.attribute(dimension.attribute)
        if raw is not None and (value := slug(raw)) != OTHER:
            (drill if mention.drill else real)[value] = None
    return list(real), list(drill)
