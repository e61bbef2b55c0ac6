"""A poison record on every topic: the worker skips or dead-letters it and carries on."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlmodel import Session

from monitor.storage.models import DeadLetter, SeriesWindow
from streams.scenario import outage_scenario
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import (
    aggregates_vs_recount,
    engine_for,
    fixed_end,
    mention_count,
    publish,
    write,
)

TOPICS = ("mentions.raw", "series.ticks", "anomalies", "incidents", "dead-letter")
# Not JSON, JSON of the wrong shape, the right shape with the wrong types, and a NUL byte.
POISONS = (
    b"\xff\xfe not json at all",
    b'{"unexpected": true}',
    json.dumps(
        {
            "series": "not a list",
            "window_starts": "x",
            "watermark": "tomorrow",
            "topic": 5,
            "reason": [],
            "payload": {"a": 1},
            "received_at": "yesterday",
            "id": None,
            "severity": {"nested": [1, 2]},
        }
    ).encode(),
    b'{"source": "tickets", "text": "nul \\u0000 here", "external_id": "p\\u0000"}',
)


async def _poison(bootstrap: str, namespace: str) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    sent = 0
    try:
        for topic in TOPICS:
            for poison in POISONS:
                await producer.send_and_wait(f"{namespace}.{topic}", poison, key=b"poison")
                sent += 1
    finally:
        await producer.stop()
    return sent


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_poison_record_on_every_topic_stops_nothing(
    database_url, tansu, start_worker, tmp_path: Path
):
    namespace = unique_namespace()
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=namespace,
        slack=None,
    )
    worker = start_worker(env)
    engine = engine_for(database_url)

    asyncio.run(_poison(tansu.removeprefix("kafka://"), namespace))
    # Mentions after the poison, on every partition: they must be stored and counted once,
    # and their windows closed by detection, whose topics were poisoned too.
    items = outage_scenario(end=fixed_end() + timedelta(days=1), run_id="poison")
    publish(write(items, tmp_path / "after.jsonl"), broker_url=tansu, namespace=namespace)

    wait_until(lambda: mention_count(engine) == len(items), 90, "every mention after the poison")
    # 3 bad mentions, and 3 unreadable records on each of the 4 typed topics.
    bad = 3 + 3 * (len(TOPICS) - 1)
    wait_until(lambda: _count(engine, DeadLetter) >= bad, 30, "the bad records dead-lettered")
    windows = SeriesWindow.__table__  # type: ignore[attr-defined]

    def closed() -> int:
        with Session(engine) as session:
            query = select(func.count()).select_from(windows).where(windows.c.closed.is_(True))
            return int(session.execute(query).scalar_one())

    wait_until(lambda: closed() > 0, 60, "detection to close windows after the poison")
    stored, recount = aggregates_vs_recount(engine)
    assert stored == recount
    assert worker.proc.poll() is None, worker.log()[-3000:]
    assert "Crashed reason" not in worker.log(), "an agent crashed on a poison record"
