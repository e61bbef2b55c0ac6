"""Polled sources (feeds, Mastodon): the port, backoff with jitter, health in SQL, one poll cycle.

The cycle is plain async Python: fetch (the source's own module), validate every item with
`parse_mention`, skip the ones already stored, publish the rest and wait for the broker's
acknowledgement, and only then move the source's cursor and validators forward. A crash between
publishing and recording re-publishes items that ingest then stores once.

>>> import random
>>> [round(backoff_seconds(60, failures, rng=random.Random(1))) for failures in (1, 2, 8)]
[68, 136, 2042]
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from sqlalchemy import Engine, select
from sqlmodel import Session

from monitor.privacy import Privacy
from monitor.storage.db import session_scope
from monitor.storage.models import Mention, SourceHealth
from streams.mentions import InvalidMention, MentionIn, parse_mention
from streams.replay import Unusable
from streams.sources import Source

MAX_BACKOFF_SECONDS = 3600.0


class FetchError(RuntimeError):
    """A poll failed; ``str(exc)`` is the one line shown in `crisismon sources`.

    ``payload`` is a body that arrived but could not be used: it is kept as a dead letter the
    first time a source starts failing (not on every retry, so a broken feed cannot flood it).
    """

    def __init__(self, reason: str, payload: bytes | None = None) -> None:
        super().__init__(reason)
        self.payload = payload


@dataclass(frozen=True, slots=True)
class PollState:
    """What a source remembers between polls: HTTP validators and a paging cursor."""

    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    items: list[Any]  # mention dicts, or `Unusable`
    state: PollState
    not_modified: bool = False
    warning: str | None = None
    body: bytes | None = None


class PolledSource(Source, Protocol):
    """A source fetched on a timer by the leader worker."""

    @property
    def interval_seconds(self) -> float: ...

    async def poll(
        self, http: aiohttp.ClientSession, state: PollState, *, now: datetime
    ) -> PollResult:
        """Fetch what is new since ``state``; raise `FetchError` with the reason."""
        ...


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or `FetchError` as soon as it passes ``limit`` bytes (no unbounded reads)."""
    if response.content_length is not None and response.content_length > limit:
        raise FetchError(f"body of {response.content_length} bytes is over the {limit} limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise FetchError(f"body is over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def backoff_seconds(interval: float, failures: int, *, rng: random.Random) -> float:
    """Exponential backoff from the poll interval, capped at an hour, with "equal jitter"."""
    base = min(MAX_BACKOFF_SECONDS, interval * 2 ** min(failures, 20))
    return base / 2 + rng.uniform(0, base / 2)


def health_rows(engine: Engine) -> dict[str, SourceHealth]:
    with Session(engine, expire_on_commit=False) as session:
        return {row.source: row for row in session.execute(select(SourceHealth)).scalars()}


def due(sources: Sequence[PolledSource], engine: Engine, *, now: datetime) -> list[PolledSource]:
    rows = health_rows(engine)
    return [
        s
        for s in sources
        if s.name not in rows
        or rows[s.name].next_attempt_at is None
        or rows[s.name].next_attempt_at <= now  # type: ignore[operator]
    ]


def load_state(engine: Engine, name: str) -> PollState:
    row = health_rows(engine).get(name)
    return PollState(row.etag, row.last_modified, row.cursor) if row else PollState()


def _record(engine: Engine, source: PolledSource, **values: Any) -> None:
    with session_scope(engine) as session:
        row = session.get(SourceHealth, source.name) or SourceHealth(
            source=source.name, kind=source.kind
        )
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def record_success(
    engine: Engine,
    source: PolledSource,
    *,
    now: datetime,
    state: PollState,
    new_items: int,
    warning: str | None,
) -> None:
    previous = health_rows(engine).get(source.name)
    _record(
        engine,
        source,
        kind=source.kind,
        last_attempt_at=now,
        last_success_at=now,
        consecutive_failures=0,
        items_seen=(previous.items_seen if previous else 0) + new_items,
        next_attempt_at=now + timedelta(seconds=source.interval_seconds),
        etag=state.etag[:500] if state.etag else None,
        last_modified=state.last_modified[:100] if state.last_modified else None,
        cursor=state.cursor,
        **({"last_error": warning[:500], "last_error_at": now} if warning else {}),
    )


def record_failure(
    engine: Engine, source: PolledSource, *, now: datetime, reason: str, rng: random.Random
) -> int:
    """Record the error and schedule the retry; returns the number of failures in a row."""
    previous = health_rows(engine).get(source.name)
    failures = (previous.consecutive_failures if previous else 0) + 1
    delay = backoff_seconds(source.interval_seconds, failures, rng=rng)
    _record(
        engine,
        source,
        kind=source.kind,
        last_attempt_at=now,
        last_error_at=now,
        last_error=reason[:500],
        consecutive_failures=failures,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    return failures


def already_stored(engine: Engine, mention_ids: Sequence[str]) -> set[str]:
    if not mention_ids:
        return set()
    table = Mention.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        query = select(table.c.mention_id).where(table.c.mention_id.in_(list(mention_ids)))
        return set(session.execute(query).scalars())


# Publishes mentions and dead letters (reason, payload); raises when the broker does not ack.
Publish = Callable[[Sequence[MentionIn], Sequence[tuple[str, str]]], Awaitable[None]]


@dataclass(slots=True)
class PollOutcome:
    published: int = 0
    rejected: int = 0
    error: str | None = None
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)


async def poll_once(
    source: PolledSource,
    *,
    http: aiohttp.ClientSession,
    engine: Engine,
    publish: Publish,
    privacy: Privacy,
    now: datetime,
    rng: random.Random,
    not_after: datetime | None = None,
) -> PollOutcome:
    """One poll of one source, from fetch to recorded health. Never raises for a bad feed.

    An item dated after ``not_after`` (now plus the allowed clock skew) is dead-lettered."""
    outcome = PollOutcome()
    state = await asyncio.to_thread(load_state, engine, source.name)
    try:
        result = await source.poll(http, state, now=now)
    except FetchError as exc:
        outcome.error = str(exc)
        failures = await asyncio.to_thread(
            record_failure, engine, source, now=now, reason=str(exc), rng=rng
        )
        if exc.payload is not None and failures == 1:
            letter = (f"{source.kind} {source.name}: {exc}", exc.payload.decode("utf-8", "replace"))
            try:
                await publish([], [letter])
            except Exception as publish_error:  # health already says what failed
                outcome.warnings.append(f"dead letter not acknowledged: {publish_error}")
        return outcome
    mentions: list[MentionIn] = []
    letters: list[tuple[str, str]] = []
    for item in result.items:
        try:
            if isinstance(item, Unusable):
                raise InvalidMention(item.reason)
            mentions.append(parse_mention(item, now=now, privacy=privacy, not_after=not_after))
        except InvalidMention as exc:
            original = item.original if isinstance(item, Unusable) else item
            payload = json.dumps(original, ensure_ascii=False, default=str)
            letters.append((f"{source.kind} {source.name}: {exc}", payload))
    known = await asyncio.to_thread(already_stored, engine, [m.mention_id for m in mentions])
    fresh = list({m.mention_id: m for m in mentions if m.mention_id not in known}.values())
    try:
        await publish(fresh, letters)
    except Exception as exc:  # the broker's error types vary; the cursor must not move
        outcome.error = f"broker did not acknowledge: {exc or type(exc).__name__}"
        await asyncio.to_thread(
            record_failure, engine, source, now=now, reason=outcome.error, rng=rng
        )
        return outcome
    await asyncio.to_thread(
        record_success,
        engine,
        source,
        now=now,
        state=result.state,
        new_items=len(fresh),
        warning=result.warning,
    )
    outcome.published, outcome.rejected = len(fresh), len(letters)
    outcome.not_modified = result.not_modified
    return outcome
