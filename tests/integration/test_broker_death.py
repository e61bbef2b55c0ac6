"""The embedded broker killed under load: noticed, replaced, and nothing accepted is lost."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from monitor.broker import EmbeddedBroker
from monitor.privacy import Privacy
from monitor.storage.migrate import upgrade
from monitor.storage.models import InboxEntry
from streams.mentions import parse_mention
from streams.scenario import outage_scenario
from tests.conftest import TEST_PSEUDONYM_KEY, service_env, unique_namespace, wait_until
from tests.integration.faults import Poster, get_json, start_service
from tests.integration.helpers import aggregates_vs_recount, engine_for, fixed_end, mention_count


def test_broker_killed_under_load_is_restarted_and_loses_nothing(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'crisismon.db'}"
    service = start_service(tmp_path, database_url=database_url)
    engine = engine_for(database_url)
    try:
        items = []
        for day in range(2):
            items += outage_scenario(end=fixed_end() + timedelta(days=day), run_id=f"bk{day}")
        poster = Poster(f"{service.web_url}/api/mentions", items, batch=100, pause=0.0)
        poster.start()
        # Killed while the broker holds mentions that were accepted and not yet ingested.
        wait_until(
            lambda: mention_count(engine) >= 300 and inbox_pending(engine) >= 100,
            60,
            "the service to be under load",
            interval=0.05,
        )

        [broker_pid] = service.child_pids("tansu")
        old_broker = service.runtime()["broker_url"]
        os.kill(broker_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: "broker (Tansu) exited" in service.log(), 10, "the death noticed")
        noticed_after = time.monotonic() - killed_at
        assert noticed_after < 5, f"noticed after {noticed_after:.1f}s"
        wait_until(lambda: "ready again" in service.log(), 60, "the broker and worker back")
        assert service.runtime()["broker_url"] != old_broker
        assert get_json(f"{service.web_url}/readyz")[0] == 200

        wait_until(lambda: not poster.is_alive(), 120, "every batch to be accepted")
        accepted = poster.finish(5)
        assert len(accepted) == len(items)
        # Nothing lost: what the old broker held comes back from the SQL inbox.
        wait_until(lambda: mention_count(engine) >= len(accepted), 90, "every accepted mention")
        time.sleep(2)  # anything republished twice would be counted by now
        assert mention_count(engine) == len(accepted)
        stored, recount = aggregates_vs_recount(engine)
        assert stored == recount, "a window counted a mention twice or missed one"
        assert inbox_pending(engine) == 0
        assert service.proc.poll() is None
    finally:
        service.stop()
    assert service.proc.returncode == 0, service.log()[-3000:]
    # One line for the death, not a line per failed request.
    assert len(re.findall(r"broker \(Tansu\) exited", service.log())) == 1


def test_mentions_accepted_before_a_crash_are_republished_at_start(tmp_path: Path):
    """What an earlier broker took with it (the inbox has it, not done) is stored at start."""
    database_url = f"sqlite:///{tmp_path / 'crisismon.db'}"
    engine = engine_for(database_url)
    upgrade(engine)
    items = outage_scenario(end=fixed_end(), run_id="lost")[:300]
    privacy = Privacy.from_key(TEST_PSEUDONYM_KEY)
    received = datetime.now(UTC) - timedelta(minutes=5)
    with Session(engine) as session:
        for item in items:
            mention = parse_mention(item, privacy=privacy)
            session.add(
                InboxEntry(
                    mention_id=mention.mention_id,
                    payload=mention.to_bytes().decode(),
                    received_at=received,
                )
            )
        session.commit()
    service = start_service(tmp_path, database_url=database_url)
    try:
        wait_until(lambda: mention_count(engine) == len(items), 60, "the lost mentions stored")
        wait_until(lambda: inbox_pending(engine) == 0, 10, "the inbox entries marked done")
        assert f"republished {len(items)} inbox mentions lost" in service.log()
    finally:
        service.stop()


def test_readyz_names_the_broker_while_it_is_gone(start_worker, tmp_path: Path):
    broker = EmbeddedBroker()
    url = broker.start()
    try:
        worker = start_worker(
            service_env(
                broker_url=url,
                database_url=f"sqlite:///{tmp_path / 'w.db'}",
                data_dir=tmp_path / "data",
                namespace=unique_namespace(),
                slack=None,
            )
        )
    finally:
        broker.stop()
    status, body = get_json(f"{worker.web_url}/readyz")
    assert status == 503 and body["ready"] is False
    reason = body["checks"]["broker"]
    assert reason.startswith("unreachable: ") and len(reason) > len("unreachable: ") + 5, reason
    worker.kill()  # its orderly stop would wait out Faust's shutdown deadline on a dead broker


def inbox_pending(engine: Engine) -> int:
    table = InboxEntry.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        query = select(func.count()).select_from(table).where(table.c.done_at.is_(None))
        return int(session.execute(query).scalar_one())
