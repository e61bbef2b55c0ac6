"""The leader worker enforces retention soon after it starts, then every interval: a leader
that restarts within the hour no longer skips it (SQLite and PostgreSQL, real broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from monitor.storage.migrate import upgrade
from monitor.storage.models import Mention
from streams.retention import EXPIRED
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for
from tests.unit.factories import mention, store

OLD_TEXT = "My card was charged twice, call me back, Jane"
YOUNG_TEXT = "Is the billing page down for anyone else?"


def test_the_leader_expires_old_mention_text_while_it_runs(
    tansu, database_url, start_worker, tmp_path
):
    engine = engine_for(database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=100)  # config/retention.yaml keeps text 90 days
    store(engine, [mention("old-1", at=long_ago, text=OLD_TEXT)], now=long_ago)
    store(engine, [mention("young-1", at=now, text=YOUNG_TEXT)], now=now)

    def text(external_id: str) -> str:
        with Session(engine) as session:
            row = session.exec(select(Mention).where(Mention.external_id == external_id)).one()
            return row.text

    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    worker = start_worker({**env, "CRISISMON_RETENTION_INTERVAL_SECONDS": "2"})

    wait_until(lambda: text("old-1") == EXPIRED, 30, "the first retention run")
    # A mention that ages after that first run goes at a later run, not an hour later.
    store(engine, [mention("old-2", at=long_ago, text=OLD_TEXT)], now=long_ago)
    wait_until(lambda: text("old-2") == EXPIRED, 30, "a later retention run")

    assert text("young-1") == YOUNG_TEXT
    assert "retention: mention_text 1" in worker.log()
    engine.dispose()
