"""Dead letters for people: list them newest first, and replay a repaired one.

A replay takes the payload as an admin edited it and validates it exactly as new input of its
kind: a dead letter from ``mentions.raw`` (the HTTP API, a feed, a replay file) is a mention
or an array of mentions, one from ``webhooks/<name>`` is that webhook source's body (mapped
by the source, without the signature check: the admin is the one vouching for it). Only a
payload that passes becomes mentions to publish; the caller publishes them, then
``mark_replayed`` records who did it. An invalid payload raises `ReplayError` with the reason
and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor import audit
from monitor.privacy import Privacy
from monitor.storage.db import insert_for, session_scope
from monitor.storage.dead_letter_replays import DeadLetterReplay
from monitor.storage.models import DeadLetter
from streams.cleaning import BadJson, parse_json
from streams.mentions import InvalidMention, MentionIn, parse_mention
from streams.sources import Ignored, InvalidPayload, WebhookSource

MAX_PAYLOAD = 1_000_000  # characters; a webhook body is capped lower by its source
MAX_MENTIONS = 1000  # as POST /api/mentions
PAGE = 25


class ReplayError(ValueError):
    """The dead letter cannot be replayed (as edited); ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Letter:
    id: int
    topic: str
    source: str | None
    reason: str
    payload: str
    payload_redacted: bool
    received_at: datetime
    replayed_by: str | None
    replayed_at: datetime | None

    @property
    def replayable(self) -> bool:
        return self.replayed_at is None and kind_of(self.topic) is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "source": self.source,
            "reason": self.reason,
            "payload": self.payload,
            "payload_redacted": self.payload_redacted,
            "received_at": self.received_at.isoformat(),
            "replayed_by": self.replayed_by,
            "replayed_at": self.replayed_at.isoformat() if self.replayed_at else None,
            "replayable": self.replayable,
        }


def kind_of(topic: str) -> str | None:
    """``mentions`` or ``webhook``: what a payload of ``topic`` is validated as; None when
    dead letters of that topic cannot be replayed (internal records).

    >>> kind_of("t1.mentions.raw"), kind_of("webhooks/zendesk"), kind_of("series.ticks")
    ('mentions', 'webhook', None)
    """
    if topic == "mentions.raw" or topic.endswith(".mentions.raw"):
        return "mentions"
    if topic.startswith("webhooks/"):
        return "webhook"
    return None


def list_letters(
    engine: Engine, *, before: int | None = None, limit: int = PAGE, source: str | None = None
) -> list[Letter]:
    """Dead letters newest first; ``before`` an id for the next page (keyset paging)."""
    query = (
        select(DeadLetter, DeadLetterReplay)
        .join(
            DeadLetterReplay,
            col(DeadLetterReplay.dead_letter_id) == col(DeadLetter.id),
            isouter=True,
        )
        .order_by(col(DeadLetter.id).desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(col(DeadLetter.id) < before)
    if source:
        query = query.where(DeadLetter.source == source)
    with Session(engine) as session:
        return [_letter(letter, replay) for letter, replay in session.exec(query).all()]


def get_letter(engine: Engine, letter_id: int) -> Letter | None:
    with Session(engine) as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:
            return None
        return _letter(letter, session.get(DeadLetterReplay, letter_id))


def _letter(letter: DeadLetter, replay: DeadLetterReplay | None) -> Letter:
    return Letter(
        id=int(letter.id or 0),
        topic=letter.topic,
        source=letter.source,
        reason=letter.reason,
        payload=letter.payload,
        payload_redacted=letter.payload_redacted,
        received_at=letter.received_at,
        replayed_by=replay.replayed_by if replay else None,
        replayed_at=replay.replayed_at if replay else None,
    )


def validate_replay(
    letter: Letter,
    payload: str,
    *,
    webhook_sources: Mapping[str, WebhookSource],
    privacy: Privacy,
    now: datetime,
    not_after: datetime | None = None,
) -> list[MentionIn]:
    """The mentions the edited ``payload`` becomes; `ReplayError` with the reason if none."""
    if letter.replayed_at is not None:
        raise ReplayError(f"dead letter {letter.id} was replayed already", 409)
    kind = kind_of(letter.topic)
    if kind is None:
        raise ReplayError(f"dead letters of {letter.topic!r} are internal records: not replayable")
    if len(payload) > MAX_PAYLOAD:
        raise ReplayError(f"the payload is longer than {MAX_PAYLOAD:,} characters")
    try:
        if kind == "webhook":
            raws = _webhook_items(letter, payload, webhook_sources, now)
        else:
            body = parse_json(payload.encode("utf-8", "surrogatepass"))
            raws = body if isinstance(body, list) else [body]
        if not raws:
            raise ReplayError("the payload holds no mention")
        if len(raws) > MAX_MENTIONS:
            raise ReplayError(f"at most {MAX_MENTIONS} mentions per replay")
        return [parse_mention(raw, now=now, privacy=privacy, not_after=not_after) for raw in raws]
    except BadJson as exc:
        raise ReplayError(f"the payload is not valid JSON: {exc}") from exc
    except (InvalidMention, InvalidPayload) as exc:
        raise ReplayError(f"still invalid: {exc}") from exc
    except UnicodeError as exc:
        raise ReplayError(f"the payload is not valid text: {exc}") from exc


def _webhook_items(
    letter: Letter, payload: str, sources: Mapping[str, WebhookSource], now: datetime
) -> list[Any]:
    name = letter.topic.removeprefix("webhooks/")
    source = sources.get(name)
    if source is None:
        raise ReplayError(f"no webhook source named {name!r} is configured any more", 409)
    body = payload.encode("utf-8")
    if len(body) > source.max_body_bytes:
        raise ReplayError(f"the payload is over {name}'s limit of {source.max_body_bytes} bytes")
    try:
        return list(source.parse(body, received=now))
    except Ignored as exc:
        raise ReplayError(f"the source ignores this payload: {exc}") from exc


def mark_replayed(
    engine: Engine, *, letter_id: int, who: str, now: datetime, mention_ids: list[str]
) -> bool:
    """Record the replay and audit it; False when someone replayed it first."""
    table = DeadLetterReplay.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        done = session.execute(
            insert_for(session, table)
            .values(
                dead_letter_id=letter_id,
                replayed_by=who[:200],
                replayed_at=now,
                mention_ids=" ".join(mention_ids),
            )
            .on_conflict_do_nothing(index_elements=["dead_letter_id"])
            .returning(table.c.dead_letter_id)
        ).first()
        if done is None:  # someone replayed it first
            return False
        audit.append(
            session,
            actor=who,
            action="replay-dead-letter",
            subject=f"dead-letter:{letter_id}",
            detail={"mentions": len(mention_ids)},
            now=now,
        )
        return True
