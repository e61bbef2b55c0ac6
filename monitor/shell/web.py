"""HTTP endpoints on Faust's web server: health, readiness and mention intake."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from faust.web import Request, Response, View
from sqlalchemy.exc import DBAPIError

from monitor.app import app
from monitor.kafka_probe import BrokerUnreachable, probe_async
from monitor.metrics import MENTIONS_RECEIVED, count_error
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.intake_gate import admit_intake
from monitor.storage.db import DatabaseError, check_connection, insert_for, session_scope
from monitor.storage.models import InboxEntry
from monitor.storage.outage import is_outage
from streams.cleaning import BadJson, parse_json
from streams.mention_bundles import bundles
from streams.mentions import InvalidMention, MentionIn, parse_mention
from streams.records import DeadLetterRecord
from streams.topics import dead_letter, mentions_raw

MAX_MENTIONS_PER_REQUEST = 1000
BROKER_ACK_TIMEOUT = 15.0


@page("/healthz", Access.PUBLIC)
class Healthz(View):
    """The process is up."""

    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})


@page("/readyz", Access.PUBLIC)
class Readyz(View):
    """Broker and database answer, and this worker has partitions assigned (`crisismon web`
    consumes nothing, so it is ready once broker and database answer)."""

    async def get(self, request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await probe_async(app.conf.broker[0].human_repr() if app.conf.broker else "")
            checks["broker"] = "ok"
        except (BrokerUnreachable, ValueError) as exc:
            checks["broker"] = f"unreachable: {exc}"
        try:
            await asyncio.to_thread(check_connection, resources.engine())
            checks["database"] = "ok"
        except DatabaseError as exc:
            checks["database"] = str(exc)
        if app.producer_only:
            checks["web"] = "ok (serves the API; consumes no partitions)"
        else:
            assigned = len(app.consumer.assignment()) if app.consumer else 0
            checks["worker"] = (
                f"ok ({assigned} partitions)" if assigned else "no partitions assigned"
            )
        ready = all(v.startswith("ok") for v in checks.values())
        return self.json({"ready": ready, "checks": checks}, status=200 if ready else 503)


@page("/api/mentions", Access.RESPONDER)
class MentionsIntake(View):
    """POST one mention (a JSON object) or up to 1,000 (a JSON array).

    Answers 202 only once the broker has acknowledged every record; 400 with the reason when
    the body is not JSON or a mention is invalid (then nothing is accepted); 503 when the
    broker does not acknowledge in time. Retrying is safe for mentions that carry an
    ``external_id`` (or an ``event_time``): their id is derived from it, so a mention that
    did get through after a 503 is stored once.
    """

    async def post(self, request: Request) -> Response:
        received = datetime.now(UTC)
        try:
            body = parse_json(await request.read())
        except BadJson as exc:
            return self._bad(f"body is not valid JSON: {exc}")
        items = body if isinstance(body, list) else [body]
        if not items:
            return self._bad("empty array: send at least one mention")
        if len(items) > MAX_MENTIONS_PER_REQUEST:
            return self._bad(f"at most {MAX_MENTIONS_PER_REQUEST} mentions per request")
        mentions: list[MentionIn] = []
        errors: list[dict[str, Any]] = []
        privacy = resources.privacy()
        not_after = get_settings().latest_event_time(received)
        for index, item in enumerate(items):
            try:
                mentions.append(
                    parse_mention(item, now=received, privacy=privacy, not_after=not_after)
                )
            except InvalidMention as exc:
                errors.append({"index": index, "error": str(exc)})
        if errors:
            return self.json({"error": errors[0]["error"], "errors": errors}, status=400)

        failure = await publish_acknowledged(mentions, received)
        if failure is not None:
            return self.json({"error": failure}, status=503)
        MENTIONS_RECEIVED.labels("api", "").inc(len(mentions))
        return self.json(
            {"accepted": len(mentions), "mention_ids": [m.mention_id for m in mentions]},
            status=202,
        )

    def _bad(self, reason: str) -> Response:
        return self.json({"error": reason}, status=400)


async def publish_acknowledged(mentions: Sequence[MentionIn], received: datetime) -> str | None:
    """Publish to ``mentions.raw`` and wait for every acknowledgement; the reason if not.

    With the in-memory embedded broker, the mentions go to the SQL inbox first, so an
    acknowledged mention survives a broker crash (see docs/guarantees.md).
    """
    if not mentions:
        return None
    if get_settings().use_inbox:
        held = await admit_intake(len(mentions))  # never faster than ingest stores
        if held is not None:
            count_error("intake_backlogged")
            return held
        try:
            await asyncio.to_thread(_write_inbox, list(mentions), received)
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            count_error("database_unavailable")
            return "the database is unavailable, nothing was accepted; retry the request"
    try:
        # Bundles: Faust's cost is per record, and a batched webhook carries many mentions.
        acks = [await mentions_raw.send(key=key, value=value) for key, value in bundles(mentions)]
        await asyncio.wait_for(asyncio.gather(*acks), BROKER_ACK_TIMEOUT)
    except (TimeoutError, OSError, KafkaError) as exc:
        count_error("broker_unacknowledged")
        return f"broker did not acknowledge: {_why(exc)}; retry the request"
    return None


async def dead_letter_acknowledged(
    *, topic: str, source: str | None, reason: str, payload: str, received: datetime
) -> str | None:
    """Publish one dead letter and wait for its acknowledgement; the reason if not."""
    try:
        ack = await dead_letter.send(
            key=topic,
            value=DeadLetterRecord(
                topic=topic,
                reason=reason,
                payload=payload,
                received_at=received.timestamp(),
                source=source,
            ),
        )
        await asyncio.wait_for(ack, BROKER_ACK_TIMEOUT)
    except (TimeoutError, OSError, KafkaError) as exc:
        count_error("broker_unacknowledged")
        return f"broker did not acknowledge: {_why(exc)}; retry the request"
    return None


def _write_inbox(mentions: list[MentionIn], received: datetime) -> None:
    rows = [
        {"mention_id": m.mention_id, "payload": m.to_bytes().decode(), "received_at": received}
        for m in mentions
    ]
    table = InboxEntry.__table__  # type: ignore[attr-defined]
    with session_scope(resources.engine()) as session:
        session.execute(
            insert_for(session, table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["mention_id"])
        )


def _why(exc: BaseException) -> str:
    """A readable reason: ``str(TimeoutError())`` is empty, which made the 503 say nothing."""
    if isinstance(exc, TimeoutError):
        return f"no acknowledgement within {BROKER_ACK_TIMEOUT:.0f}s"
    return str(exc) or type(exc).__name__
