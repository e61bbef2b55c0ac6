"""GET /metrics on a real worker: what an operator's Prometheus would scrape after real traffic."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.test_web import post

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(web_url: str) -> tuple[str, Samples]:
    """The content type and every sample, keyed by (name, sorted labels)."""
    with urllib.request.urlopen(f"{web_url}/metrics", timeout=10) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return content_type, samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def lags(samples: Samples, topic: str) -> dict[int, float]:
    return {
        int(dict(labels)["partition"]): v
        for (name, labels), v in samples.items()
        if name == "crisismon_consumer_lag" and dict(labels)["topic"] == topic
    }


def test_metrics_count_what_the_worker_did(tansu, start_worker, tmp_path: Path):
    namespace = unique_namespace()
    env = service_env(
        broker_url=tansu,
        database_url=f"sqlite:///{tmp_path / 'metrics.db'}",
        data_dir=tmp_path / "data",
        namespace=namespace,
        slack=None,
    )
    env["CRISISMON_INBOX"] = "true"  # as `crisismon run` sets it: the inbox backlog is real
    worker = start_worker(env)
    raw_topic = f"{namespace}.mentions.raw"

    content_type, before = scrape(worker.web_url)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert value(before, "crisismon_errors_total", kind="database_unavailable") == 0
    assert value(before, "crisismon_cluster_metrics_up") == 1

    mentions = [
        {"source": "tickets", "text": "charged twice", "external_id": f"T-{i}"} for i in range(3)
    ]
    assert post(f"{worker.web_url}/api/mentions", json.dumps(mentions[:2]).encode())[0] == 202
    assert post(f"{worker.web_url}/api/mentions", json.dumps(mentions[2]).encode())[0] == 202
    # Refused with a 400, so neither received nor stored.
    assert post(f"{worker.web_url}/api/mentions", b'{"source": "x"}')[0] == 400
    asyncio.run(_produce(tansu, raw_topic, b"\xff\xfe not json"))  # a dead letter
    ticks_topic = f"{namespace}.series.ticks"
    asyncio.run(_produce(tansu, ticks_topic, b"not a record"))  # one more, and an ERROR line

    def settled() -> bool:
        _, now = scrape(worker.web_url)
        return (
            value(now, "crisismon_cluster_mentions_stored_total") == 3
            and value(
                now, "crisismon_cluster_dead_letters_total", topic=raw_topic, reason="not_json"
            )
            == 1
            and value(
                now,
                "crisismon_cluster_dead_letters_total",
                topic=ticks_topic,
                reason="unreadable_record",
            )
            == 1
            and value(now, "crisismon_cluster_inbox_backlog") == 0
            and set(lags(now, raw_topic).values()) == {0}
        )

    wait_until(settled, 45, "stored mentions, the dead letter and zero lag in /metrics", 1.0)
    _, after = scrape(worker.web_url)
    assert value(after, "crisismon_mentions_received_total", via="api", source="") == 3
    dead = {k: v for k, v in after.items() if k[0] == "crisismon_cluster_dead_letters_total"}
    assert sum(dead.values()) == 2
    assert value(after, "crisismon_errors_total", kind="error_logged") >= 1  # the skipped record
    # Two requests and one bad record reached the raw topic; each was read once.
    assert value(after, "crisismon_records_consumed_total", topic=raw_topic) == 3
    # One worker holds every partition of the raw topic, and each one is reported.
    assert set(lags(after, raw_topic)) == {0, 1, 2, 3}
    # The committed offsets the group really has on the broker: nothing left to process.
    ends, committed = asyncio.run(_group_offsets(tansu, raw_topic, f"crisismon-{namespace}"))
    assert sum(ends.values()) == 3 and committed == ends


async def _produce(broker: str, topic: str, payload: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.removeprefix("kafka://"))
    await producer.start()
    try:
        await producer.send_and_wait(topic, payload, key=b"bad")
    finally:
        await producer.stop()


async def _group_offsets(
    broker: str, topic: str, group: str
) -> tuple[dict[int, int], dict[int, int]]:
    """End offsets and the group's committed offsets, read by a client of our own."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.removeprefix("kafka://"), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(4)]
        ends = await consumer.end_offsets(partitions)
        committed = {tp.partition: (await consumer.committed(tp)) or 0 for tp in partitions}
        return {tp.partition: end for tp, end in ends.items()}, committed
    finally:
        await consumer.stop()
