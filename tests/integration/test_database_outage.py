"""The database away for 10 s under load: nothing lost, nothing counted twice, no restart needed.

PostgreSQL is reached through an in-test TCP proxy whose connections are cut (and new ones
refused) for 10 s. SQLite has no connection to cut; its equivalent is another process holding
the database's write lock for 10 s.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from streams.scenario import outage_scenario
from tests.conftest import wait_until
from tests.integration.faults import Poster, TcpProxy, get_json, start_service
from tests.integration.helpers import aggregates_vs_recount, engine_for, fixed_end, mention_count
from tests.integration.test_broker_death import inbox_pending

OUTAGE_SECONDS = 10.0


def _items(tag: str) -> list[dict[str, object]]:
    return outage_scenario(end=fixed_end() + timedelta(days=1), run_id=tag)


def _load_through_outage(tmp_path: Path, database_url: str, cut: Callable[[], None]) -> str:
    """Post under load, `cut` the database for OUTAGE_SECONDS, check everything; the log."""
    service = start_service(tmp_path, database_url=database_url)
    engine = engine_for(database_url)
    try:
        items = _items("db")
        poster = Poster(f"{service.web_url}/api/mentions", items, batch=100, pause=0.05)
        poster.start()
        wait_until(lambda: mention_count(engine) >= 300, 60, "the service to be under load")
        cut()
        wait_until(lambda: not poster.is_alive(), 120, "every batch to be accepted")
        accepted = poster.finish(5)
        assert len(accepted) == len(items)
        wait_until(lambda: mention_count(engine) >= len(accepted), 90, "every accepted mention")
        time.sleep(2)
        assert mention_count(engine) == len(accepted)
        stored, recount = aggregates_vs_recount(engine)
        assert stored == recount, "a window counted a mention twice or missed one"
        assert inbox_pending(engine) == 0
        assert get_json(f"{service.web_url}/readyz")[0] == 200
        assert service.proc.poll() is None, "the service should recover by itself"
    finally:
        service.stop()
    return service.log()


def test_postgres_cut_for_10_s_under_load(postgres, tmp_path: Path):
    url = make_url(postgres.create())
    proxy = TcpProxy(target=(url.host or "127.0.0.1", url.port or 5432))
    try:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        log = _load_through_outage(tmp_path, through, lambda: proxy.cut(OUTAGE_SECONDS))
    finally:
        proxy.close()
    # Ridden out by the worker itself: ingest, detection and the playbook timers wait for the
    # database; the supervisor never had to start the worker again.
    assert "database unavailable" in log
    restarted = log.find("; starting it again")
    # On failure, show what crashed the worker: its traceback comes before the restart.
    assert restarted < 0, log[max(0, log.rfind("Traceback", 0, restarted) - 1500) : restarted]


def test_sqlite_locked_for_10_s_under_load(tmp_path: Path):
    path = tmp_path / "crisismon.db"

    def lock() -> None:
        def hold() -> None:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            time.sleep(OUTAGE_SECONDS)
            conn.execute("ROLLBACK")
            conn.close()

        threading.Thread(target=hold, daemon=True).start()

    _load_through_outage(tmp_path, f"sqlite:///{path}", lock)
