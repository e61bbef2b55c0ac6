"""Taught labels in SQL: storing them once, and every scorer refitting from all of them.

`add_labels` stores labelled texts, skipping any (text, label) pair already stored, so teaching
the same file twice changes nothing. Each worker keeps a `LabelFollower`: when the table has
changed since its last look (a new highest id or a new count), it reads every label and refits
its scorer's taught layer from all of them, so all workers converge on the same layer, and a
restarted worker rebuilds it from the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from detectors.sentiment.base import LABELS
from detectors.sentiment.language import normalise_tag
from monitor.privacy import Redactor, redact_text
from monitor.storage.sentiment_labels import SentimentLabel

# Rows written per INSERT batch (and per existing-hash lookup).
_BATCH = 500

Taught = tuple[str, str, str | None]  # (text, label, lang)


class Teachable(Protocol):
    def teach(self, examples: Sequence[Taught]) -> None: ...


def cleaned(
    text: str, lang: str | None, redactor: Redactor | None = None
) -> tuple[str, str | None]:
    """The text as stored and its language tag's primary subtag (None when not a tag).

    Stored texts are redacted as mentions are (emails, phone and card numbers, IBANs and IP
    addresses become placeholders) and lose NUL characters, which PostgreSQL refuses:

    >>> cleaned(" write to ana@example.com" + chr(0) + " ", "en-GB")
    ('write to [EMAIL]', 'en')
    >>> cleaned("late", "not a tag")
    ('late', None)
    """
    text = text.replace("\x00", "")
    redacted = redactor.redact(text) if redactor is not None else redact_text(text)
    return redacted.strip(), normalise_tag(lang)


def content_hash(text: str, label: str) -> str:
    """The key that makes teaching idempotent: SHA-256 of the text and its label.

    >>> content_hash("late again", "negative") == content_hash("late again", "negative")
    True
    >>> content_hash("late again", "negative") == content_hash("late again", "neutral")
    False
    """
    return hashlib.sha256(f"{label}\x1f{text}".encode()).hexdigest()


def labels_hash(hashes: Iterable[str]) -> str:
    """One hash for a set of labels, whatever order they were stored in."""
    digest = hashlib.sha256()
    for one in sorted(hashes):
        digest.update(one.encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Stored:
    new: int
    already: int  # the same text and label was stored before (or twice in this batch)


def add_labels(
    engine: Engine,
    examples: Sequence[Taught],
    *,
    source: str,
    who: str,
    now: datetime,
    redactor: Redactor | None = None,
) -> Stored:
    """Store labelled texts (`cleaned`) in one transaction; pairs already stored are skipped."""
    for _, label, _ in examples:
        if label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    keyed: dict[str, Taught] = {}
    for raw, label, raw_lang in examples:
        text, lang = cleaned(raw, raw_lang, redactor)
        if not text:
            raise ValueError("a label needs a text")
        keyed.setdefault(content_hash(text, label), (text, label, lang))
    new = 0
    with Session(engine) as session:
        keys = list(keyed)
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start : start + _BATCH]
            column = SentimentLabel.__table__.c.content_hash  # type: ignore[attr-defined]
            existing = set(session.execute(select(column).where(column.in_(chunk))).scalars())
            for key in chunk:
                if key in existing:
                    continue
                text, label, lang = keyed[key]
                session.add(
                    SentimentLabel(
                        content_hash=key,
                        text=text,
                        label=label,
                        lang=lang,
                        source=source[:200],
                        who=who[:200],
                        created_at=now,
                    )
                )
                new += 1
            session.flush()
        session.commit()
    return Stored(new=new, already=len(examples) - new)


@dataclass(frozen=True, slots=True)
class LabelSet:
    examples: list[Taught]
    content_hash: str  # `labels_hash` of all of them

    @property
    def count(self) -> int:
        return len(self.examples)


def all_labels(engine: Engine) -> LabelSet:
    """Every stored label, in a fixed order (by content hash): two installs with the same
    labels fit the same layer, whatever order the labels arrived in."""
    table = SentimentLabel.__table__  # type: ignore[attr-defined]
    query = select(table.c.content_hash, table.c.text, table.c.label, table.c.lang).order_by(
        table.c.content_hash
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return LabelSet(
        examples=[(text, label, lang) for _, text, label, lang in rows],
        content_hash=labels_hash(key for key, *_ in rows),
    )


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    counts: dict[str, int]  # labels by class
    who: str  # everyone who taught from it, comma-separated
    first: datetime
    last: datetime

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def sources(engine: Engine) -> list[Source]:
    """What was taught, by file (or import), the most recent first."""
    table = SentimentLabel.__table__  # type: ignore[attr-defined]
    query = select(
        table.c.source,
        table.c.label,
        table.c.who,
        func.count(),
        func.min(table.c.created_at),
        func.max(table.c.created_at),
    ).group_by(table.c.source, table.c.label, table.c.who)
    with Session(engine) as session:
        rows = session.execute(query).all()
    counts: dict[str, dict[str, int]] = {}
    people: dict[str, list[str]] = {}
    spans: dict[str, tuple[datetime, datetime]] = {}
    for name, label, who, count, first, last in rows:
        counts.setdefault(name, dict.fromkeys(LABELS, 0))[label] += int(count)
        if who not in people.setdefault(name, []):
            people[name].append(who)
        earlier = spans.get(name, (first, last))
        spans[name] = (min(earlier[0], first), max(earlier[1], last))
    found = [Source(name, counts[name], ", ".join(people[name]), *spans[name]) for name in counts]
    return sorted(found, key=lambda one: (one.last, one.name), reverse=True)


def forget_source(engine: Engine, source: str) -> int:
    """Delete the labels stored from ``source``; return how many. Workers refit without them."""
    table = SentimentLabel.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        result = session.connection().execute(table.delete().where(table.c.source == source))
        session.commit()
    return int(result.rowcount or 0)


def _marker(engine: Engine) -> tuple[int, int]:
    table = SentimentLabel.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        highest, count = session.execute(
            select(func.coalesce(func.max(table.c.id), 0), func.count())
        ).one()
    return int(highest), int(count)


class LabelFollower:
    """Refits a scorer's taught layer whenever the stored labels have changed."""

    def __init__(self) -> None:
        self.seen: tuple[int, int] = (0, 0)  # (highest id, count) when last fitted
        self.taught = 0  # labels in the layer fitted last

    def apply_new(self, engine: Engine, scorer: Teachable) -> int:
        """Refit from all labels if any were added or removed; return how many were used
        (0 when nothing changed)."""
        marker = _marker(engine)
        if marker == self.seen:
            return 0
        labels = all_labels(engine)
        # Fitting happens before the scorer swaps the new layer in: scoring goes on meanwhile.
        scorer.teach(labels.examples)
        self.seen = marker
        self.taught = labels.count
        return labels.count
