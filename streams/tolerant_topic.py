"""Topics whose unreadable records are set aside instead of crashing the agent reading them.

Faust decodes a typed record (`SeriesTicks`, `AnomalyEvent`, …) before the agent sees it, and by
default throws the decode error into the agent's stream: the agent crashes, its supervisor
restarts it, and what it held in memory is gone (a poison record on ``series.ticks`` stopped
detection altogether). `TolerantTopic` is the app's topic class (``Topic=`` in `monitor.app`):
Faust has already acknowledged the record when it calls these hooks, so skipping is only a
matter of not throwing. The record goes to the dead letters with the reason, as a bad mention
does, and the log says so once per kind (see `monitor.log_limits`).
"""

from __future__ import annotations

import logging
import time

import faust
from faust.types import Message

log = logging.getLogger(__name__)

MAX_PAYLOAD_CHARS = 10_000


class TolerantTopic(faust.Topic):
    async def on_key_decode_error(self, exc: Exception, message: Message) -> None:
        await self._set_aside("key", exc, message)

    async def on_value_decode_error(self, exc: Exception, message: Message) -> None:
        await self._set_aside("value", exc, message)

    async def _set_aside(self, part: str, exc: Exception, message: Message) -> None:
        reason = f"unreadable {part}: {(str(exc).splitlines() or [type(exc).__name__])[0]}"
        log.error(
            "skipped record %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason
        )
        from streams.records import DeadLetterRecord
        from streams.topics import dead_letter

        raw = message.value if isinstance(message.value, bytes) else b""
        try:
            await dead_letter.send(
                key=message.topic,
                value=DeadLetterRecord(
                    topic=message.topic,
                    reason=reason[:1000],
                    payload=raw.decode("utf-8", "replace")[:MAX_PAYLOAD_CHARS],
                    received_at=time.time(),
                ),
            )
        except Exception as send_error:  # the record is skipped either way; say why it is not kept
            log.error("could not dead-letter the skipped record: %s", send_error)
