"""The labelling queue: which mentions staff should label next, and recording their answers.

Staff label where it helps most: during an open incident, the mentions that drive it (its
anomalies' example mentions); otherwise the ones the scorer was least sure of. A mention is
never offered twice, nor when it is already corrected, erased or expired, a near-duplicate
copy, a drill, or in a language the scorer does not read. At most ``daily_cap`` mentions a
UTC day are offered, counted across Slack, the CLI, the API and the web app's /labels: every
mention posted to Slack counts, and so does every label given elsewhere for a mention not posted.

An answer is a staff correction (`detectors.sentiment.corrections`), so every worker learns
it; the first answer for a mention wins, later ones are told who labelled it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Engine, Row, and_, func, select, update
from sqlmodel import Session

from detectors.sentiment.base import LABELS, UNSCORED
from detectors.sentiment.corrections import CorrectionError
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import (
    REPLACED_TEXTS,
    Anomaly,
    Incident,
    Mention,
    SentimentCorrection,
    SentimentLabelRequest,
)

INCIDENT = "incident"
LEAST_SURE = "least sure"
SURFACES = ("slack", "cli", "api", "web")

_mentions = Mention.__table__  # type: ignore[attr-defined]
_requests = SentimentLabelRequest.__table__  # type: ignore[attr-defined]
_corrections = SentimentCorrection.__table__  # type: ignore[attr-defined]


class QueueSettings(BaseModel):
    """``queue:`` in config/sentiment.yaml."""

    model_config = ConfigDict(extra="forbid")

    daily_cap: int = Field(default=20, ge=0, le=10_000)
    # Only mentions ingested this recently are offered: older ones are not worth the time.
    lookback_days: int = Field(default=7, ge=1, le=365)
    # Slack: how many mentions one post offers, and how often the leader posts.
    slack_batch: int = Field(default=3, ge=1, le=10)
    slack_every_seconds: float = Field(default=3600.0, gt=0)


class QueueError(CorrectionError):
    """A label that cannot be recorded from the queue; one readable line."""


class AlreadyLabelled(QueueError):
    """Someone labelled this mention first."""

    def __init__(self, mention_id: str, label: str, by: str, at: datetime | None = None) -> None:
        super().__init__(f"mention {mention_id} was already labelled {label} by {by}")
        self.label, self.by, self.at = label, by, at


@dataclass(frozen=True, slots=True)
class QueueItem:
    mention_id: str
    reason: str  # "incident #12" or "least sure"
    text: str
    label: str  # as scored when it was ingested
    confidence: float
    lang: str | None
    offered: bool = False  # already offered (in Slack) and still unanswered


@dataclass(frozen=True, slots=True)
class Answer:
    mention_id: str
    label: str
    by: str
    correction_id: int
    previous_label: str
    slack_ref: str | None


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def offered_today(engine: Engine, *, now: datetime) -> int:
    """Mentions offered (or labelled from the queue) since midnight UTC: what the cap counts."""
    query = select(func.count()).where(_requests.c.offered_at >= day_start(now))
    with Session(engine) as session:
        return int(session.execute(query).scalar_one())


def remaining_today(engine: Engine, *, settings: QueueSettings, now: datetime) -> int:
    return max(0, settings.daily_cap - offered_today(engine, now=now))


def near_duplicate_key(text: str) -> str:
    """The words of a text without links, handles, numbers and case: near-duplicates share it.

    >>> near_duplicate_key("@acme Still waiting!! https://x.co/1 order 123") == \\
    ...     near_duplicate_key("still waiting, order 456 @AcmeHelp")
    True
    """
    text = re.sub(r"https?://\S+|@\w+|#", " ", text.lower())
    return " ".join(re.findall(r"[^\W\d_]+", text))


def _labelable() -> list[ColumnElement[bool]]:
    """Mentions staff can usefully label."""
    return [
        _mentions.c.text.not_in(sorted(REPLACED_TEXTS)),
        _mentions.c.canonical_id.is_(None),  # a near-duplicate copy: its canonical is offered
        _mentions.c.drill.is_(False),
        _mentions.c.label != UNSCORED,
        ~select(_corrections.c.id)
        .where(_corrections.c.mention_id == _mentions.c.mention_id)
        .exists(),
    ]


def _not_offered() -> ColumnElement[bool]:
    return ~select(_requests.c.id).where(_requests.c.mention_id == _mentions.c.mention_id).exists()


def _confidence() -> ColumnElement[float]:
    # Mentions stored before confidence was kept: the rule scorer's own measure, |compound|.
    return func.coalesce(_mentions.c.sentiment_confidence, func.abs(_mentions.c.compound))


_COLUMNS = (
    _mentions.c.mention_id,
    _mentions.c.text,
    _mentions.c.label,
    _mentions.c.lang,
)


def incident_drivers(engine: Engine) -> dict[str, int]:
    """Example mentions of open incidents' anomalies → their incident, most severe first."""
    incidents = Incident.__table__  # type: ignore[attr-defined]
    anomalies = Anomaly.__table__  # type: ignore[attr-defined]
    severity = {"critical": 0, "warning": 1}
    query = (
        select(anomalies.c.example_mention_ids, incidents.c.id, incidents.c.severity)
        .join(incidents, incidents.c.id == anomalies.c.incident_id)
        .where(incidents.c.status == "open", incidents.c.drill.is_(False))
        .order_by(incidents.c.opened_at.desc(), anomalies.c.detected_at.desc())
    )
    with Session(engine) as session:
        rows = list(session.execute(query).all())
    rows.sort(key=lambda r: severity.get(r.severity, 2))  # stable: newest first within
    drivers: dict[str, int] = {}
    for examples, incident_id, _ in rows:
        for mention_id in examples.split():
            drivers.setdefault(mention_id, incident_id)
    return drivers


def candidates(
    engine: Engine, *, limit: int, settings: QueueSettings, now: datetime
) -> list[QueueItem]:
    """Up to ``limit`` mentions never offered: incident drivers first, then the least sure."""
    if limit <= 0:
        return []
    since = now - timedelta(days=settings.lookback_days)
    picked: list[QueueItem] = []
    seen: set[str] = set()
    drivers = incident_drivers(engine)
    with Session(engine) as session:
        if drivers:
            query = select(*_COLUMNS, _confidence().label("confidence")).where(
                _mentions.c.mention_id.in_(list(drivers)), _not_offered(), *_labelable()
            )
            place = {mention_id: n for n, mention_id in enumerate(drivers)}
            rows = sorted(session.execute(query).all(), key=lambda r: place[r.mention_id])
            for row in rows:
                reason = f"{INCIDENT} #{drivers[row.mention_id]}"
                _add(picked, seen, row, reason, limit)
        if len(picked) < limit:
            query = (
                select(*_COLUMNS, _confidence().label("confidence"))
                .where(_mentions.c.ingest_time >= since, _not_offered(), *_labelable())
                .order_by(_confidence(), _mentions.c.mention_id)
                .limit((limit - len(picked)) * 4 + 20)  # room for near-duplicates left out
            )
            for row in session.execute(query).all():
                if row.mention_id not in drivers:
                    _add(picked, seen, row, LEAST_SURE, limit)
    return picked


def _add(picked: list[QueueItem], seen: set[str], row: Row[Any], reason: str, limit: int) -> None:
    if len(picked) >= limit:
        return
    key = near_duplicate_key(row.text)
    if key in seen:
        return
    seen.add(key)
    picked.append(
        QueueItem(
            mention_id=row.mention_id,
            reason=reason,
            text=row.text,
            label=row.label,
            confidence=round(float(row.confidence), 4),
            lang=row.lang,
        )
    )


def pending(engine: Engine, *, settings: QueueSettings, now: datetime) -> list[QueueItem]:
    """Mentions offered in Slack within the lookback and still unanswered, oldest first."""
    since = now - timedelta(days=settings.lookback_days)
    query = (
        select(*_COLUMNS, _confidence().label("confidence"), _requests.c.reason)
        .join(_requests, _requests.c.mention_id == _mentions.c.mention_id)
        .where(_requests.c.answered_at.is_(None), _requests.c.offered_at >= since, *_labelable())
        .order_by(_requests.c.offered_at, _requests.c.id)
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        QueueItem(
            r.mention_id, r.reason, r.text, r.label, round(float(r.confidence), 4), r.lang, True
        )
        for r in rows
    ]


def queue(
    engine: Engine, *, settings: QueueSettings, now: datetime, limit: int | None = None
) -> list[QueueItem]:
    """What to label now: mentions offered and unanswered, then new ones within today's cap."""
    waiting = pending(engine, settings=settings, now=now)
    room = remaining_today(engine, settings=settings, now=now)
    if limit is not None:
        waiting = waiting[:limit]
        room = min(room, limit - len(waiting))
    seen = {near_duplicate_key(item.text) for item in waiting}
    fresh = [
        item
        for item in candidates(engine, limit=room + len(waiting), settings=settings, now=now)
        if near_duplicate_key(item.text) not in seen
    ]
    return waiting + fresh[:room]


def offer(
    engine: Engine, items: Iterable[QueueItem], *, surface: str, now: datetime
) -> list[QueueItem]:
    """Record ``items`` as offered (counting toward today's cap); the ones newly recorded."""
    recorded: list[QueueItem] = []
    with session_scope(engine) as session:
        for item in items:
            statement = (
                insert_for(session, _requests)
                .values(
                    mention_id=item.mention_id,
                    reason=item.reason[:100],
                    surface=surface,
                    offered_at=now,
                )
                .on_conflict_do_nothing(index_elements=["mention_id"])
                .returning(_requests.c.id)
            )
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT that SQLAlchemy runs.
            if session.execute(statement).first() is not None:
                recorded.append(item)
    return recorded


@dataclass(frozen=True, slots=True)
class Offered:
    """A mention of one Slack message, and its answer once someone labelled it."""

    item: QueueItem
    label: str | None
    answered_by: str | None
    answered_at: datetime | None


def offered_in(engine: Engine, *, slack_ref: str) -> list[Offered]:
    """The mentions of one Slack message, in the order they were posted."""
    query = (
        select(
            *_COLUMNS,
            _confidence().label("confidence"),
            _requests.c.reason,
            _requests.c.label.label("answer"),
            _requests.c.answered_by,
            _requests.c.answered_at,
        )
        .join(_requests, _requests.c.mention_id == _mentions.c.mention_id)
        .where(_requests.c.slack_ref == slack_ref)
        .order_by(_requests.c.id)
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
    return [
        Offered(
            QueueItem(
                r.mention_id, r.reason, r.text, r.label, round(float(r.confidence), 4), r.lang
            ),
            r.answer,
            r.answered_by,
            r.answered_at,
        )
        for r in rows
    ]


def set_slack_ref(engine: Engine, *, mention_ids: Iterable[str], ref: str) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(_requests)
            .where(_requests.c.mention_id.in_(list(mention_ids)))
            .values(slack_ref=ref)
        )


def label_from_queue(
    engine: Engine,
    *,
    mention_id: str,
    label: str,
    who: str,
    surface: str,
    now: datetime,
    reason: str = "asked",
) -> Answer:
    """Record ``who``'s label as a staff correction; `AlreadyLabelled` if someone was first.

    A mention not offered before is recorded as offered now, so it counts toward today's cap.
    """
    label = label.strip().lower()
    if label not in LABELS:
        raise QueueError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    if not who.strip():
        raise QueueError("say who is labelling (--who)")
    who = who.strip()[:200]
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,32}", mention_id):  # ids are 32 hex characters
        raise QueueError(f"no mention with id {mention_id[:40]!r}")
    with session_scope(engine) as session:
        # Writes first: on SQLite a transaction that read before another committed could not
        # write any more; the claim is the first statement, and the first claim wins.
        session.execute(
            insert_for(session, _requests)
            .values(mention_id=mention_id, reason=reason[:100], surface=surface, offered_at=now)
            .on_conflict_do_nothing(index_elements=["mention_id"])
        )
        claimed = session.execute(
            update(_requests)
            .where(and_(_requests.c.mention_id == mention_id, _requests.c.answered_at.is_(None)))
            .values(label=label, answered_by=who, answered_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            row = session.execute(
                select(_requests.c.label, _requests.c.answered_by, _requests.c.answered_at).where(
                    _requests.c.mention_id == mention_id
                )
            ).one()
            raise AlreadyLabelled(mention_id, row.label, row.answered_by, row.answered_at)
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise QueueError(f"no mention with id {mention_id!r}")
        if mention.text in REPLACED_TEXTS:
            raise QueueError(f"mention {mention_id} has no text any more ({mention.text})")
        earlier = session.execute(
            select(_corrections.c.label, _corrections.c.who, _corrections.c.created_at)
            .where(_corrections.c.mention_id == mention_id)
            .order_by(_corrections.c.id)
            .limit(1)
        ).first()
        if earlier is not None:
            raise AlreadyLabelled(mention_id, earlier.label, earlier.who, earlier.created_at)
        correction = SentimentCorrection(
            mention_id=mention_id, label=label, who=who, created_at=now
        )
        session.add(correction)
        session.flush()
        session.execute(
            update(_requests)
            .where(_requests.c.mention_id == mention_id)
            .values(correction_id=correction.id)
        )
        ref = session.execute(
            select(_requests.c.slack_ref).where(_requests.c.mention_id == mention_id)
        ).scalar_one()
        assert correction.id is not None
        return Answer(mention_id, label, who, correction.id, mention.label, ref)
