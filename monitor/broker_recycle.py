"""Bounded memory for the embedded broker: recycle Tansu, carrying unconsumed records over.

Tansu 0.6.0 on memory storage keeps every record until its topic is deleted. It stores
``retention.ms``, ``retention.bytes``, ``segment.bytes`` and ``segment.ms`` but never applies
them, and a DeleteRecords request panics its handler (docs/broker-retention.md has the
measurements). Only a new broker process gives the memory back. So, when the broker passes
its memory limit or its age limit, the owner of the broker stops the consumers, calls
`recycle`, and starts the consumers on the new broker:

1. a new Tansu starts on a new loopback port, next to the old one;
2. `carry_over` creates every topic there with the same partitions, and copies each partition's
   records that some consumer group has not committed yet (key, value, headers, timestamp,
   same partition, same order); a partition no group has committed on is copied whole;
3. the old broker stops. Consumers find no committed offsets on the new broker and start from
   the earliest record, which is the first record they had not processed.

What every group had committed is dropped: that is the retention. Offsets start again from 0,
which nothing in crisismon relies on (counting is idempotent in SQL, not by offset).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from monitor.broker import BrokerError, EmbeddedBroker

# Records read per Fetch round while copying; each round is written before the next is read.
_COPY_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class RecyclePolicy:
    """When the embedded broker is due for a recycle; 0 switches a limit off."""

    memory_limit_bytes: int = 256 * 1024 * 1024
    max_age_seconds: float = 0.0
    # Not again within this long: a worker that is far behind must get time to catch up.
    min_interval_seconds: float = 300.0
    # The share of the broker's records that may still be unread for a recycle to go ahead:
    # they are carried over, so a worker far behind would gain little and wait long.
    max_unread_share: float = 0.1

    def reason(self, *, rss_bytes: int | None, age_seconds: float) -> str | None:
        """Why the broker should be recycled now, or None.

        >>> policy = RecyclePolicy(memory_limit_bytes=100 << 20, max_age_seconds=3600)
        >>> policy.reason(rss_bytes=150 << 20, age_seconds=400)
        'memory 150 MB over the 100 MB limit'
        >>> policy.reason(rss_bytes=50 << 20, age_seconds=7200)
        'running 2.0 h, the limit is 1.0 h'
        >>> policy.reason(rss_bytes=50 << 20, age_seconds=200) is None
        True
        >>> policy.reason(rss_bytes=150 << 20, age_seconds=200) is None  # too soon after start
        True
        """
        if age_seconds < self.min_interval_seconds:
            return None
        if (
            self.memory_limit_bytes
            and rss_bytes is not None
            and rss_bytes > self.memory_limit_bytes
        ):
            return f"memory {rss_bytes >> 20} MB over the {self.memory_limit_bytes >> 20} MB limit"
        if self.max_age_seconds and age_seconds > self.max_age_seconds:
            return (
                f"running {age_seconds / 3600:.1f} h, the limit is "
                f"{self.max_age_seconds / 3600:.1f} h"
            )
        return None


@dataclass(slots=True)
class CarryReport:
    """What one carry-over did."""

    topics: int = 0
    partitions: int = 0
    carried: int = 0  # records copied to the new broker
    dropped: int = 0  # records every group had committed, left behind
    seconds: float = 0.0
    per_topic: dict[str, int] = field(default_factory=dict)  # records carried, by topic


@dataclass(slots=True)
class _Partition:
    start: int  # first offset to copy
    end: int = -1  # high watermark seen by a fetch; -1 until one answered


def _bootstrap(url: str) -> str:
    return url.removeprefix("kafka://")


async def committed_offsets(
    url: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The lowest committed offset of any consumer group, per partition that one has."""
    admin = AIOKafkaAdminClient(bootstrap_servers=_bootstrap(url))
    await admin.start()
    try:
        groups = [group_id for group_id, _protocol in await admin.list_consumer_groups()]
    finally:
        await admin.close()
    lowest: dict[TopicPartition, int] = {}
    for group_id in groups:
        # OffsetFetch through a consumer: aiokafka's admin call cannot parse Tansu's answer.
        consumer = AIOKafkaConsumer(
            bootstrap_servers=_bootstrap(url), group_id=group_id, enable_auto_commit=False
        )
        await consumer.start()
        try:
            for tp in partitions:
                offset = await consumer.committed(tp)
                if offset is not None and offset >= 0:
                    lowest[tp] = min(offset, lowest.get(tp, offset))
        finally:
            await consumer.stop()
    return lowest


async def _topics(url: str) -> tuple[dict[str, int], list[TopicPartition]]:
    """Topic name to partition count, and every partition, as the broker lists them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=_bootstrap(url))
    await consumer.start()
    try:
        names = sorted(await consumer.topics())
        counts = {name: len(consumer.partitions_for_topic(name) or ()) for name in names}
    finally:
        await consumer.stop()
    partitions = [TopicPartition(name, p) for name, n in counts.items() for p in range(n)]
    return counts, partitions


def _copy_from(
    partitions: list[TopicPartition], committed: dict[TopicPartition, int]
) -> dict[TopicPartition, _Partition]:
    """Where each partition's copy starts: its lowest committed offset, else the beginning."""
    return {tp: _Partition(start=committed.get(tp, 0)) for tp in partitions}


async def high_watermarks(url: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """Each partition's true end, from a Fetch answer.

    Tansu's ListOffsets LATEST is wrong (it picks the newest batch by time, and batches written
    in the same millisecond tie), so ``end_offsets()`` under-reports; a Fetch carries the right
    high watermark.
    """
    found: dict[TopicPartition, int] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=_bootstrap(url), fetch_max_bytes=1024)
    await consumer.start()
    try:
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, 0)
        deadline = time.monotonic() + 30
        while len(found) < len(partitions) and time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=100, max_records=1)
            for tp in partitions:
                mark = consumer.highwater(tp)
                if mark is not None:
                    found[tp] = mark
                    consumer.pause(tp)
    finally:
        await consumer.stop()
    if len(found) < len(partitions):
        raise BrokerError(f"no Fetch answer for {len(partitions) - len(found)} partitions")
    return found


@dataclass(frozen=True, slots=True)
class Backlog:
    """What a recycle would carry over, against what the broker holds."""

    unread: dict[str, int]  # per topic, records no group has committed (all, if none has)
    total: int  # records on the broker

    @property
    def unread_total(self) -> int:
        return sum(self.unread.values())

    def allows(self, policy: RecyclePolicy) -> bool:
        """Whether little enough is unread for a recycle to be worth it.

        >>> Backlog({"a": 5, "b": 0}, total=100).allows(RecyclePolicy())
        True
        >>> Backlog({"a": 11}, total=100).allows(RecyclePolicy())
        False
        """
        return self.unread_total <= policy.max_unread_share * self.total

    def describe(self) -> str:
        """The unread records, largest topic first.

        >>> Backlog({"a": 5, "b": 0, "c": 12}, total=100).describe()
        '17 of 100 records unread (c 12, a 5)'
        """
        tops = sorted(((n, t) for t, n in self.unread.items() if n), reverse=True)[:3]
        where = ", ".join(f"{t} {n}" for n, t in tops)
        return f"{self.unread_total} of {self.total} records unread" + (
            f" ({where})" if where else ""
        )


async def backlog(url: str) -> Backlog:
    """Records on the broker that the consumer groups have not committed, per topic."""
    _counts, partitions = await _topics(url)
    if not partitions:
        return Backlog({}, 0)
    committed = await committed_offsets(url, partitions)
    ends = await high_watermarks(url, partitions)
    unread: dict[str, int] = {}
    for tp in partitions:
        unread[tp.topic] = unread.get(tp.topic, 0) + max(0, ends[tp] - committed.get(tp, 0))
    return Backlog(unread, sum(ends.values()))


async def carry_over(old_url: str, new_url: str) -> CarryReport:
    """Copy every topic, and every record no group has committed, from ``old_url`` to
    ``new_url``. Stop the consumers first: what they commit meanwhile is copied anyway."""
    started = time.monotonic()
    counts, partitions = await _topics(old_url)
    report = CarryReport(topics=len(counts), partitions=len(partitions))
    if not partitions:
        return report
    await _create_topics(new_url, counts)
    todo = _copy_from(partitions, await committed_offsets(old_url, partitions))
    consumer = AIOKafkaConsumer(bootstrap_servers=_bootstrap(old_url), auto_offset_reset="earliest")
    producer = AIOKafkaProducer(
        bootstrap_servers=_bootstrap(new_url), acks="all", linger_ms=5, max_batch_size=256 * 1024
    )
    await consumer.start()
    await producer.start()
    try:
        await _copy(consumer, producer, todo, report)
    finally:
        await producer.stop()
        await consumer.stop()
    report.seconds = time.monotonic() - started
    return report


async def _create_topics(url: str, counts: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=_bootstrap(url))
    await admin.start()
    try:
        new = [NewTopic(name, n, 1) for name, n in counts.items() if n > 0]
        response = await admin.create_topics(new)
        for topic, code, *_rest in response.topic_errors:
            if code and code != TopicAlreadyExistsError.errno:
                raise BrokerError(f"cannot create topic {topic} on the new broker: error {code}")
    finally:
        await admin.close()


async def _copy(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    todo: dict[TopicPartition, _Partition],
    report: CarryReport,
) -> None:
    consumer.assign(list(todo))
    for tp, part in todo.items():
        consumer.seek(tp, part.start)
    pending = set(todo)
    idle_deadline = time.monotonic() + 30
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=200, max_records=_COPY_CHUNK)
        sends = []
        for tp, records in batch.items():
            for record in records:
                sends.append(
                    await producer.send(
                        tp.topic,
                        value=record.value,
                        key=record.key,
                        partition=tp.partition,
                        timestamp_ms=record.timestamp,
                        headers=list(record.headers) or None,
                    )
                )
            report.per_topic[tp.topic] = report.per_topic.get(tp.topic, 0) + len(records)
        if sends:
            await asyncio.gather(*sends)
            report.carried += len(sends)
            idle_deadline = time.monotonic() + 30
        for tp in list(pending):
            end = consumer.highwater(tp)
            if end is not None and await consumer.position(tp) >= end:
                todo[tp].end = end
                pending.discard(tp)
                consumer.pause(tp)
        if pending and time.monotonic() > idle_deadline:
            raise BrokerError(f"carry-over stalled on {len(pending)} partitions")
    report.dropped = sum(min(p.start, p.end) for p in todo.values())


@dataclass(slots=True)
class RecycleOutcome:
    broker: EmbeddedBroker  # the one to use from now on
    report: CarryReport
    old_rss_bytes: int | None
    new_rss_bytes: int | None


def recycle(
    old: EmbeddedBroker,
    *,
    log_path: Path | None = None,
    on_step: Callable[[str], None] = lambda _msg: None,
) -> RecycleOutcome:
    """Start a new broker, carry the unconsumed records over, stop ``old``.

    The consumers of ``old`` must be stopped first. On an error the new broker is stopped, the
    old one keeps running with everything it had, and BrokerError says why.
    """
    old_rss = old.rss_bytes()
    new = EmbeddedBroker(log_path=log_path)
    new.start()
    try:
        report = asyncio.run(carry_over(old.url, new.url))
    except (TimeoutError, KafkaError, OSError, BrokerError) as exc:
        new.stop()
        raise BrokerError(f"broker recycle failed, kept the old broker: {exc}") from exc
    old.stop()
    new_rss = new.rss_bytes()
    carried = ", ".join(f"{topic} {n}" for topic, n in sorted(report.per_topic.items()) if n)
    on_step(
        f"broker recycled: {report.carried} unconsumed records carried over"
        f"{f' ({carried})' if carried else ''}, "
        f"{report.dropped} consumed ones dropped, in {report.seconds:.2f}s; memory "
        f"{_mb(old_rss)} → {_mb(new_rss)}; now at {new.url}"
    )
    return RecycleOutcome(new, report, old_rss, new_rss)


def _mb(value: int | None) -> str:
    return "?" if value is None else f"{value / 1048576:.0f} MB"
