"""Access and erasure over the web API of a real worker, on Tansu with SQLite and PostgreSQL,
and what the broker still holds afterwards (its topics cannot be edited)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlmodel import Session, select

from monitor import audit
from monitor.storage.migrate import upgrade
from monitor.storage.models import Mention
from playbooks.customers import from_flat, upsert
from tests.conftest import (
    INTAKE_HEADERS,
    INTAKE_TOKENS,
    service_env,
    unique_namespace,
    wait_until,
)
from tests.integration.helpers import engine_for
from tests.playbooks.person_data import (
    EMAIL,
    EXTERNAL_ID,
    PHONE,
    PHRASE,
    PRIVACY,
    find_everywhere,
    their_mentions,
)

TOKENS = "dpo-token=dana:admin,imp-token=ivo:importer"


def _call(method: str, url: str, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, method=method, headers=headers, data=None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _topic_values(broker_url: str, topic: str) -> list[str]:
    """Every record on ``topic``, read from the beginning."""

    async def read() -> list[str]:
        consumer = AIOKafkaConsumer(bootstrap_servers=broker_url.removeprefix("kafka://"))
        await consumer.start()
        try:
            assert topic in await consumer.topics()  # also loads the topic's partitions
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            values: list[str] = []
            for _ in range(30):
                if all([await consumer.position(p) >= ends[p] for p in parts]):
                    break
                batch = await consumer.getmany(timeout_ms=1000)
                values += [r.value.decode() for rs in batch.values() for r in rs if r.value]
            return values
        finally:
            await consumer.stop()

    return asyncio.run(read())


def test_export_and_erase_over_the_api(tansu, database_url, start_worker, tmp_path):
    engine = engine_for(database_url)
    upgrade(engine)
    record = {"external_id": EXTERNAL_ID, "email": EMAIL, "phone": PHONE}
    upsert(
        engine,
        customers=[from_flat({**record, "email_consent_at": "2024-02-01"})],
        now=datetime.now(UTC),
        pseudonymiser=PRIVACY.pseudonymiser,
    )
    namespace = unique_namespace()
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=namespace,
        slack=None,
    )
    env.update({"CRISISMON_API_TOKENS": f"{TOKENS},{INTAKE_TOKENS}", "CRISISMON_INBOX": "true"})
    worker = start_worker(env)
    body = json.dumps(their_mentions()).encode()
    intake = urllib.request.Request(
        f"{worker.web_url}/api/mentions",
        data=body,
        headers={"Content-Type": "application/json", **INTAKE_HEADERS},
    )
    with urllib.request.urlopen(intake, timeout=30) as response:
        assert response.status == 202

    def stored() -> int:
        with Session(engine) as session:
            return len(session.exec(select(Mention)).all())

    wait_until(lambda: stored() == 3, 60, "their three mentions stored")
    base = f"{worker.web_url}/api/customers"

    assert _call("GET", f"{base}/{EXTERNAL_ID}/export", None)[0] == 401
    status, denied = _call("GET", f"{base}/{EXTERNAL_ID}/export", "imp-token")
    assert status == 403 and denied["error"].startswith("role responder may not GET")
    status, document = _call("GET", f"{base}/{EXTERNAL_ID}/export", "dpo-token")
    assert status == 200 and document["customer"]["email"] == EMAIL
    assert len(document["mentions"]) == 3 and "everyone" in document["segments"]
    assert all(PHRASE in m["text"].casefold() for m in document["mentions"])
    assert _call("GET", f"{base}/nobody/export", "dpo-token") == (
        404,
        {"error": "no customer 'nobody'"},
    )
    # Digits that are no internal id (too long, a superscript two, past INTEGER): no customer.
    for ref, path in (("9" * 30, "9" * 30), ("²", "%C2%B2"), (str(2**31), str(2**31))):
        nobody = (404, {"error": f"no customer {ref!r}"})
        assert _call("GET", f"{base}/{path}/export", "dpo-token") == nobody
        assert _call("POST", f"{base}/{path}/erase", "dpo-token") == nobody
        assert _call("DELETE", f"{base}/{path}", "dpo-token") == nobody
    assert _call("POST", f"{base}/{EXTERNAL_ID}/erase", "imp-token")[0] == 403

    status, done = _call("POST", f"{base}/{EXTERNAL_ID}/erase", "dpo-token")
    assert status == 200 and done["erased"]["mentions"] == 3 and done["erased"]["inbox"] == 3
    needles = (EXTERNAL_ID, EMAIL, PHONE, PHRASE, *document_pseudonyms(document))
    # The worker's term detectors learnt their words in memory; its erasure timer makes them
    # forget, so neither this close nor a later one writes the words back.
    wait_until(lambda: "an erasure: " in worker.log(), 30, "the worker's erasure timer")
    wait_until(lambda: find_everywhere(engine, needles) == [], 30, "no trace of them")
    later = {
        "source": "tickets",
        "external_id": "later-1",
        "text": "checkout works again",
        "event_time": "2026-03-02T12:00:00+00:00",
    }
    intake = urllib.request.Request(
        f"{worker.web_url}/api/mentions",
        data=json.dumps(later).encode(),
        headers={"Content-Type": "application/json", **INTAKE_HEADERS},
    )
    with urllib.request.urlopen(intake, timeout=30) as response:
        assert response.status == 202
    wait_until(lambda: stored() == 4, 60, "a later mention stored")
    time.sleep(3)  # closes and the erasure timer run every 2 s
    assert find_everywhere(engine, needles) == []
    assert _call("DELETE", f"{base}/{EXTERNAL_ID}", "dpo-token") == (
        404,
        {"error": f"no customer {EXTERNAL_ID!r}"},
    )
    assert audit.verify(engine)[1] == [] and audit.entries(engine)[-1].actor == "web:dana"

    # The broker: the web path redacted and pseudonymised before producing, so mentions.raw
    # never held their email, phone or external id; it still holds the pseudonym and their
    # words until the broker drops the records (docs/privacy.md, What remains on the broker).
    on_topic = "\n".join(_topic_values(tansu, f"{namespace}.mentions.raw"))
    assert on_topic.count("psn:") >= 3 and PHRASE in on_topic.casefold()
    for clear in (EXTERNAL_ID, EMAIL, PHONE, PHONE.lstrip("+")):
        assert clear.casefold() not in on_topic.casefold(), clear
    engine.dispose()


def document_pseudonyms(document: dict[str, Any]) -> list[str]:
    """The pseudonyms the export showed (the customer's, and those carried by the inbox rows)."""
    found = [document["customer"]["pseudonym"]]
    for row in document["inbox"]:
        found += [row["payload"].get("customer_id"), row["payload"].get("author")]
    return sorted({p for p in found if p})
