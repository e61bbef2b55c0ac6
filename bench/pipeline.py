"""Pipeline throughput against raw broker pass-through, measured in the same run.

* raw: aiokafka produces N records to a topic and a plain aiokafka consumer reads them back
  (the floor any Kafka pipeline pays on this broker);
* pipeline: the same N mentions replayed into the running worker, timed until all are stored
  (validate, VADER, series fan-out, one SQL transaction per batch, ticks).

Tickets carry the id of one of `CUSTOMERS` imported customers (as a help desk sends it), so
the fan-out to ``segment:`` series is part of what is measured.

Run: ``python -m bench.pipeline [N]``. Prints both rates and their ratio.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import embedded_service, stored_mentions, wait_for
from monitor.kafka_probe import parse_bootstrap
from monitor.settings import Settings
from monitor.storage.db import make_engine
from playbooks.customers import CustomerIn, upsert
from streams.replay import replay
from streams.scenario import outage_scenario, write_jsonl

CUSTOMERS = 2_000


def mentions(n: int) -> list[dict[str, object]]:
    """Scenario runs back to back, so event time is contiguous as in a real stream."""
    items: list[dict[str, object]] = []
    end = datetime(2026, 1, 1, tzinfo=UTC)
    run = 0
    while len(items) < n:
        chunk = outage_scenario(end=end, run_id=f"bench{run}")
        items += chunk
        first = datetime.fromisoformat(str(chunk[0]["event_time"]))
        end += end - first + timedelta(minutes=1)
        run += 1
    for index, item in enumerate(items):
        if item["source"] == "tickets":
            item["customer_id"] = f"cust-{index % CUSTOMERS}"
    return items[:n]


def customers() -> list[CustomerIn]:
    """A tenth on the enterprise plan (so in segment vip), the rest spread over regions."""
    return [
        CustomerIn(
            external_id=f"cust-{i}",
            plan="enterprise" if i % 10 == 0 else "pro",
            region="eu" if i % 3 == 0 else "us",
            lifetime_value=float(i % 7000),
            signup_date=datetime(2025, 1, 1, tzinfo=UTC),
        )
        for i in range(CUSTOMERS)
    ]


async def raw_pass_through(broker_url: str, payloads: list[bytes]) -> float:
    servers = [f"{h}:{p}" for h, p in parse_bootstrap(broker_url)]
    topic = f"bench-raw-{time.time_ns()}"
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id=f"{topic}-g"
    )
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")
    await consumer.start()
    started = time.monotonic()
    try:
        futures = [await producer.send(topic, value) for value in payloads]
        await asyncio.gather(*futures)
        seen = 0
        while seen < len(payloads):
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(records) for records in batches.values())
        return time.monotonic() - started
    finally:
        await consumer.stop()
        await producer.stop()


def import_customers(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    upsert(engine, customers=customers(), now=datetime.now(UTC))
    engine.dispose()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    items = mentions(n)
    with tempfile.TemporaryDirectory() as tmp, embedded_service("bench") as service:
        service.start()
        import_customers(service.settings)
        path = write_jsonl(items, Path(tmp) / "bench.jsonl")
        payloads = path.read_bytes().splitlines()
        raw_seconds = asyncio.run(raw_pass_through(service.broker_url, payloads))

        count = stored_mentions(service.settings.resolved_database_url)
        started = time.monotonic()
        asyncio.run(
            replay(
                path,
                broker_url=service.broker_url,
                mentions_topic="bench.mentions.raw",
                dead_letter_topic="bench.dead-letter",
                privacy=service.settings.privacy,
            )
        )
        wait_for(lambda: count() >= n, 600)
        pipeline_seconds = time.monotonic() - started

    raw_rate, pipe_rate = n / raw_seconds, n / pipeline_seconds
    print(f"mentions: {n:,}")
    print(f"raw broker pass-through (aiokafka produce+consume): {raw_rate:,.0f}/s")
    print(f"crisismon pipeline (replay -> stored in SQLite):     {pipe_rate:,.0f}/s")
    print(f"pipeline / raw: {pipe_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
