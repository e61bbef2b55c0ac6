"""The HTTP intake answers 202 only after the broker acknowledged, 400 with a reason otherwise."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlmodel import Session, select

from monitor.storage.models import DeadLetter, InboxEntry, Mention
from streams.mentions import mention_id
from tests.conftest import INTAKE_HEADERS, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for, mention_count


def post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **INTAKE_HEADERS}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_intake_accepts_valid_and_explains_invalid(tansu, start_worker, tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'web.db'}"
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env["CRISISMON_INBOX"] = "true"  # as `crisismon run` sets it for the in-memory broker
    worker = start_worker(env)
    engine = engine_for(database_url)
    api = f"{worker.web_url}/api/mentions"

    assert get(f"{worker.web_url}/healthz") == (200, {"status": "ok"})
    status, ready = get(f"{worker.web_url}/readyz")
    assert status == 200 and ready["ready"] is True
    assert set(ready["checks"]) == {"broker", "database", "worker"}

    status, body = post(api, b'{"source": "tickets", "text": "broken')
    assert status == 400 and "not valid JSON" in body["error"]

    status, body = post(api, json.dumps({"source": "tickets"}).encode())
    assert status == 400 and body["error"] == "missing field: text (a string)"

    # One bad mention in a batch rejects the batch, and says which one.
    batch = [{"source": "social", "text": "fine"}, {"source": "social", "text": "  "}]
    status, body = post(api, json.dumps(batch).encode())
    assert status == 400 and body["errors"][0]["index"] == 1
    assert mention_count(engine) == 0

    mention = {
        "source": "Tickets",
        "text": "Charged twice <b>again</b>",
        "external_id": "T-1",
        "event_time": "2026-03-01T10:00:00Z",
    }
    status, body = post(api, json.dumps(mention).encode())
    assert status == 202
    assert body == {"accepted": 1, "mention_ids": [mention_id("tickets", "T-1")]}
    # Posting the same mention again is accepted and still stored once.
    assert post(api, json.dumps(mention).encode())[0] == 202
    wait_until(lambda: mention_count(engine) == 1, 30, "the mention to be stored")

    with Session(engine) as session:
        stored = session.exec(select(Mention)).one()
        inbox = session.exec(select(InboxEntry)).one()
    assert stored.source == "tickets" and stored.label == "negative"
    assert inbox.mention_id == stored.mention_id
    wait_until(lambda: _inbox_done(engine), 10, "the inbox entry to be marked done")


def _inbox_done(engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(InboxEntry)).one().done_at is not None


def test_unusable_records_on_the_topic_become_dead_letters(tansu, start_worker, tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'dl.db'}"
    namespace = unique_namespace()
    start_worker(
        service_env(
            broker_url=tansu,
            database_url=database_url,
            data_dir=tmp_path / "data",
            namespace=namespace,
            slack=None,
        )
    )
    engine = engine_for(database_url)

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=tansu.removeprefix("kafka://"))
        await producer.start()
        try:
            topic = f"{namespace}.mentions.raw"
            await producer.send_and_wait(topic, b"\xff\xfe not json", key=b"a")
            await producer.send_and_wait(topic, b'{"source": "x", "text": 42}', key=b"b")
        finally:
            await producer.stop()

    asyncio.run(produce())

    def letters() -> list[DeadLetter]:
        with Session(engine) as session:
            return list(session.exec(select(DeadLetter)).all())

    wait_until(lambda: len(letters()) == 2, 30, "two dead letters")
    reasons = sorted(letter.reason for letter in letters())
    assert reasons[0].startswith("missing field: text")
    assert reasons[1].startswith("not valid UTF-8 JSON")
    assert any('"text": 42' in letter.payload for letter in letters())
    assert mention_count(engine) == 0
