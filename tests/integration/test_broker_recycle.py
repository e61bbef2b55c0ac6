"""Bounded broker memory: Tansu ignores topic retention, so crisismon recycles the broker.

Real Tansu processes throughout. The first two tests pin down the Tansu behaviour the design
rests on (if a Tansu upgrade starts honouring retention, they fail and say so); the others show
that a recycle drops what the consumer group has processed and keeps everything else.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from monitor.broker import EmbeddedBroker, free_loopback_port
from monitor.broker_recycle import RecyclePolicy, backlog, recycle
from monitor.settings import Settings
from monitor.shell.service import Service
from streams.scenario import outage_scenario
from tests.conftest import REPO, TEST_PSEUDONYM_KEY, unique_namespace, wait_until
from tests.integration.helpers import engine_for, mention_count, publish, write

PAYLOAD = b"x" * 300


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    started = EmbeddedBroker()
    started.start()
    yield started
    started.stop()


def bootstrap(broker: EmbeddedBroker) -> str:
    return broker.url.removeprefix("kafka://")


async def create(url: str, topics: dict[str, int], configs: dict[str, str] | None = None) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=url)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, n, 1, topic_configs=configs) for t, n in topics.items()]
        )
    finally:
        await admin.close()


async def produce(url: str, topic: str, count: int, partitions: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=url, linger_ms=5)
    await producer.start()
    try:
        for i in range(count):
            await producer.send(
                topic,
                PAYLOAD,
                key=f"{topic}-{i}".encode(),
                partition=i % partitions,
                timestamp_ms=1_700_000_000_000 + i,
                headers=[("n", str(i).encode())],
            )
        await producer.flush()
    finally:
        await producer.stop()


async def read_all(url: str, partitions: list[TopicPartition], group: str | None = None) -> list:
    """Every record from the group's committed offsets (or from the start), until quiet."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=url,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        if group is None:
            for tp in partitions:
                consumer.seek(tp, 0)
        found = []
        while batch := await consumer.getmany(timeout_ms=1000):
            for records in batch.values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()


async def earliest(url: str, partitions: list[TopicPartition]) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=url)
    await consumer.start()
    try:
        offsets = await consumer.beginning_offsets(partitions)
        return {tp.partition: offsets[tp] for tp in partitions}
    finally:
        await consumer.stop()


def test_tansu_keeps_records_past_the_topics_retention_settings(broker):
    url = bootstrap(broker)
    retention = {
        "retention.ms": "100",
        "retention.bytes": "1000",
        "segment.bytes": "1000",
        "segment.ms": "100",
        "cleanup.policy": "delete",
    }
    parts = [TopicPartition("short-lived", p) for p in range(2)]
    asyncio.run(create(url, {"short-lived": 2}, retention))
    asyncio.run(produce(url, "short-lived", 3000, 2))  # 900 kB, far past 1000 bytes
    time.sleep(1.5)  # 15 times retention.ms (an 11-minute run: docs/broker-retention.md)

    async def described() -> dict[str, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=url)
        await admin.start()
        try:
            [response] = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, "short-lived")]
            )
        finally:
            await admin.close()
        [resource] = response.resources
        return {entry[0]: entry[1] for entry in resource[4]}

    # Stored and described, never applied: offset 0 is still there, nothing was dropped.
    assert asyncio.run(described()) == retention
    assert asyncio.run(earliest(url, parts)) == {0: 0, 1: 0}
    assert len(asyncio.run(read_all(url, parts))) == 3000


def test_tansu_cannot_delete_records(broker):
    url = bootstrap(broker)
    tp = TopicPartition("truncate-me", 0)
    asyncio.run(create(url, {"truncate-me": 1}))
    asyncio.run(produce(url, "truncate-me", 100, 1))

    async def delete_records() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=url, request_timeout_ms=5000)
        await admin.start()
        try:
            await admin.delete_records({tp: RecordsToDelete(50)})
        finally:
            await admin.close()

    # Its handler panics ("not yet implemented") and the connection is dropped.
    with pytest.raises(KafkaError):
        asyncio.run(delete_records())
    assert broker.pid is not None and broker.rss_bytes()  # the broker itself survives
    assert asyncio.run(earliest(url, [tp])) == {0: 0}


def test_a_recycle_drops_what_the_group_committed_and_carries_the_rest(broker):
    url = bootstrap(broker)
    events = [TopicPartition("events", p) for p in range(3)]
    asyncio.run(create(url, {"events": 3, "unread": 1}))
    asyncio.run(produce(url, "events", 30_000, 3))  # 10,000 per partition, 9 MB
    asyncio.run(produce(url, "unread", 50, 1))

    async def commit() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=url, group_id="g", enable_auto_commit=False)
        await consumer.start()
        consumer.assign(events)
        try:  # the group processed all of partition 0, 7,000 of 1, none of 2
            await consumer.commit({events[0]: 10_000, events[1]: 7_000})
        finally:
            await consumer.stop()

    asyncio.run(commit())
    unread = asyncio.run(backlog(broker.url))
    assert unread.unread == {"events": 13_000, "unread": 50}
    assert unread.total == 30_050
    old_pid, old_rss = broker.pid, broker.rss_bytes()
    steps: list[str] = []

    outcome = recycle(broker, on_step=steps.append)
    new = outcome.broker
    try:
        new_url = bootstrap(new)
        assert broker.pid is None and new.pid != old_pid  # the old broker is gone
        assert outcome.report.carried == 13_050
        assert outcome.report.dropped == 17_000
        assert outcome.report.per_topic == {"events": 13_000, "unread": 50}
        assert old_rss is not None and outcome.new_rss_bytes is not None
        assert outcome.new_rss_bytes < old_rss - 5 * 1024 * 1024, (old_rss, outcome.new_rss_bytes)
        assert "13050 unconsumed records carried over" in steps[0]

        # Records past the group's offsets are gone: what was offset 7,000 of partition 1 is
        # now its first record, and partition 0 is empty.
        carried = asyncio.run(read_all(new_url, events, group="g"))
        by_partition = {p: [r for r in carried if r.partition == p] for p in range(3)}
        assert [len(by_partition[p]) for p in range(3)] == [0, 3_000, 10_000]
        first = by_partition[1][0]
        assert first.offset == 0
        assert first.key == f"events-{7_000 * 3 + 1}".encode()  # record 21001 went to partition 1
        assert first.value == PAYLOAD
        assert first.timestamp == 1_700_000_000_000 + 21_001
        assert list(first.headers) == [("n", b"21001")]
        # Order within a partition is kept.
        numbers = [int(r.key.split(b"-")[1]) for r in by_partition[2]]
        assert numbers == sorted(numbers) and numbers[0] == 2
        unread = asyncio.run(read_all(new_url, [TopicPartition("unread", 0)]))
        assert len(unread) == 50
    finally:
        new.stop()


def test_crisismon_run_moves_its_worker_to_a_new_broker_without_losing_mentions(tmp_path: Path):
    namespace = unique_namespace()
    settings = Settings(
        data_dir=tmp_path / "data",
        namespace=namespace,
        config_dir=REPO / "config",
        pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY),
    )
    # Due at once, whatever the memory: the test is about the move, not the threshold.
    policy = RecyclePolicy(memory_limit_bytes=1, max_age_seconds=0, min_interval_seconds=0)
    service = Service(
        settings,
        web_port=free_loopback_port(),
        worker_log=tmp_path / "worker.log",
        recycle_policy=policy,
        # Scoring in the worker itself: spare processes would add seconds to each start.
        extra_env={"CRISISMON_SCORING_PROCESSES": "0"},
    )
    end = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    first = outage_scenario(end=end, run_id="before", baseline_hours=0.25, burst_minutes=0)
    second = outage_scenario(end=end, run_id="after", baseline_hours=0.25, burst_minutes=0)
    try:
        service.start()
        old_url = service.broker_url
        engine = engine_for(settings.resolved_database_url)
        publish(write(first, tmp_path / "a.jsonl"), broker_url=old_url, namespace=namespace)
        wait_until(lambda: mention_count(engine) == len(first), 30, "the first mentions")

        steps: list[str] = []
        # Due, but only once the worker has committed what it stored (every second).
        wait_until(lambda: service.maybe_recycle_broker(steps.append), 15, "the recycle", 0.5)
        assert service.recycles == 1
        assert service.broker_url != old_url
        assert any(s.startswith("broker recycled:") for s in steps), steps
        runtime = json.loads(settings.runtime_file.read_text())
        assert runtime["broker_url"] == service.broker_url  # `crisismon replay` finds the new one

        publish(
            write(second, tmp_path / "b.jsonl"), broker_url=service.broker_url, namespace=namespace
        )
        wait_until(
            lambda: mention_count(engine) == len(first) + len(second), 30, "the later mentions"
        )
    finally:
        service.stop()
