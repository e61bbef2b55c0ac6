"""Vendor webhooks through a real worker and broker: signed real payloads in, stored once."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiohttp
from sqlmodel import Session, select

from monitor.storage.models import DeadLetter, Mention
from tests.conftest import REPO, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for, mention_count
from tests.vendors import (
    crisismon_headers,
    fixture,
    freshdesk_headers,
    intercom_headers,
    zendesk_headers,
)

SECRET = "whsec-integration-0123456789"
SOURCES = """
sources:
  - {name: zendesk, kind: zendesk}
  - {name: freshdesk, kind: freshdesk}
  - {name: intercom, kind: intercom}
  - {name: reviews, kind: reviews, max_body_kb: 1}
  - {name: social, kind: social, rate_limit: {per_second: 100000, burst: 100000}}
  - {name: slow, kind: social, rate_limit: {per_second: 0.01, burst: 3}}
"""


def webhook_env(tansu: str, database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(REPO / "config" / "detection.yaml", config / "detection.yaml")
    (config / "sources.yaml").write_text(SOURCES)
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env["CRISISMON_CONFIG_DIR"] = str(config)
    for name in ("ZENDESK", "FRESHDESK", "INTERCOM", "REVIEWS", "SOCIAL", "SLOW"):
        env[f"CRISISMON_SOURCE_{name}_SECRET"] = SECRET
    return env


async def post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]):
    async with session.post(url, data=body, headers=headers) as response:
        return response.status, await response.json()


async def test_signed_vendor_payloads_are_stored_once_and_bad_ones_explained(
    database_url, tansu, start_worker, tmp_path: Path
):
    worker = start_worker(webhook_env(tansu, database_url, tmp_path))
    engine = engine_for(database_url)
    hooks = f"{worker.web_url}/webhooks"
    zendesk = fixture("zendesk", "ticket_create_update")
    freshdesk = [fixture("freshdesk", n) for n in ("ticket_created", "status_changed")]
    created = fixture("intercom", "conversation_user_created")
    replied = fixture("intercom", "conversation_user_replied")
    ping = fixture("intercom", "ping")
    review = json.dumps({"id": "r-1", "text": "Crashes on start", "rating": 1}).encode()
    async with aiohttp.ClientSession() as session:
        answers = [
            await post(session, f"{hooks}/zendesk", zendesk, zendesk_headers(SECRET, zendesk)),
            # The same ticket twice from Freshdesk (created, then its status changed).
            *[
                await post(session, f"{hooks}/freshdesk", b, freshdesk_headers(SECRET))
                for b in freshdesk
            ],
            await post(session, f"{hooks}/intercom", created, intercom_headers(SECRET, created)),
            await post(session, f"{hooks}/intercom", replied, intercom_headers(SECRET, replied)),
            await post(session, f"{hooks}/reviews", review, crisismon_headers(SECRET, review)),
        ]
        assert [status for status, _ in answers] == [202] * 6
        assert await post(session, f"{hooks}/intercom", ping, intercom_headers(SECRET, ping)) == (
            200,
            {"accepted": 0, "ignored": "topic 'ping' carries no customer message"},
        )
        # Wrong secret: 401, and nothing is kept from a stranger.
        status, body = await post(
            session, f"{hooks}/zendesk", zendesk, zendesk_headers("not-the-secret-1", zendesk)
        )
        assert status == 401 and "does not match" in body["error"]
        # Over the size limit: 413. Unknown source: 404.
        big = json.dumps({"id": "r-2", "text": "x" * 2000, "rating": 5}).encode()
        status, _ = await post(session, f"{hooks}/reviews", big, crisismon_headers(SECRET, big))
        assert status == 413
        assert (await post(session, f"{hooks}/nope", b"{}", {}))[0] == 404
        # Signed but unusable: 400 with the reason, and a dead letter with the payload.
        bad = b'{"id": "r-3", "text": "no stars here, mail me at ana@example.com"}'
        status, body = await post(session, f"{hooks}/reviews", bad, crisismon_headers(SECRET, bad))
        assert (status, body) == (400, {"error": "missing rating"})
        # A source's rate limit: the fourth request in a burst of three gets 429.
        post_ = json.dumps({"id": 1, "text": "hi", "network": "x"}).encode()
        statuses = [
            (await post(session, f"{hooks}/slow", post_, crisismon_headers(SECRET, post_)))[0]
            for _ in range(4)
        ]
        assert statuses == [202, 202, 202, 429]

    wait_until(lambda: mention_count(engine) == 6, 30, "six mentions stored")
    with Session(engine) as session:
        stored = {m.source + ":" + m.external_id: m for m in session.exec(select(Mention))}
    assert set(stored) == {
        "zendesk:7",
        "freshdesk:11",
        "intercom:21321941764",
        "intercom:21322009097:2824391734",
        "reviews:r-1",
        "slow:x:1",
    }
    ticket = stored["zendesk:7"]
    assert ticket.priority == "Normal" and ticket.tags == "change_address help order"
    assert ticket.author is not None and ticket.author.startswith("psn:")
    assert stored["reviews:r-1"].rating == 1.0
    assert "reviews" in stored["reviews:r-1"].series_keys.split()
    assert "Bob" not in (stored["freshdesk:11"].author or "")
    wait_until(lambda: _letters(engine) == 1, 30, "the dead letter")
    with Session(engine) as session:
        (letter,) = session.exec(select(DeadLetter)).all()
    assert letter.source == "reviews" and letter.reason == "reviews webhook: missing rating"
    assert letter.payload == '{"id": "r-3", "text": "no stars here, mail me at [EMAIL]"}'


def _letters(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(DeadLetter)).all())


async def test_a_thousand_concurrent_requests_each_accepted_one_stored_exactly_once(
    postgres, tansu, start_worker, tmp_path: Path
):
    database_url = postgres.create()
    worker = start_worker(webhook_env(tansu, database_url, tmp_path))
    engine = engine_for(database_url)
    url = f"{worker.web_url}/webhooks/social"
    # 1,000 requests for 800 distinct posts: 200 are re-sends, as a retrying sender makes.
    bodies = [
        json.dumps({"id": i % 800, "text": f"post number {i % 800}", "network": "x"}).encode()
        for i in range(1000)
    ]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        answers = await asyncio.gather(
            *(post(session, url, body, crisismon_headers(SECRET, body)) for body in bodies)
        )
    accepted = {body["mention_ids"][0] for status, body in answers if status == 202}
    refused = [status for status, _ in answers if status != 202]
    assert refused == [], f"unexpected answers: {sorted(set(refused))}"
    assert len(accepted) == 800

    def stored_ids() -> list[str]:
        with Session(engine) as session:
            return list(session.exec(select(Mention.mention_id)))

    wait_until(lambda: len(stored_ids()) >= 800, 60, "every accepted post to be stored")
    ids = stored_ids()
    assert len(ids) == len(set(ids)) == 800
    assert set(ids) == accepted
