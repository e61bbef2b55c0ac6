"""Pages that read the big tables read them through an index. The audit log gains a row per
message sent: the incident page and the approvals queue read it by subject, not the whole log
once per draft. The overview lists the series without reading every stored window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

from monitor.incidents.actions import act
from monitor.incidents.overview import series_keys
from monitor.privacy import Pseudonymiser
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from playbooks.approval_review import review_queue
from playbooks.approvals import edit
from playbooks.incident_timeline import incident_page_with_messages
from tests.playbooks.test_approval_review import NOW, _drafts
from tests.unit.factories import store_windows
from tests.unit.test_incident_pages import SETTINGS


def _sqlite(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'crisismon.db'}")
    upgrade(engine)
    return engine


def _full_scans(engine: Engine, table: str, run: Callable[[], object]) -> list[str]:
    """The SELECTs on ``table`` that ``run()`` makes which SQLite answers by a full scan."""
    reads: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if table in statement and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            reads.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert reads, f"no read of {table}"
    scans = []
    with engine.connect() as conn:
        for statement, parameters in reads:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            steps = [str(row[-1]) for row in plan]
            if any(step.startswith(f"SCAN {table}") for step in steps):
                scans.append(f"{statement}\n{' / '.join(steps)}")
    return scans


def test_pages_read_the_audit_log_through_an_index(tmp_path: Path):
    engine = _sqlite(tmp_path)
    setup, drafts = _drafts(engine)
    draft = drafts[("outage-sms-vip", "vip", "en")]
    edit(engine, setup=setup, draft_id=draft.id, actor="web:ana", subject=None,
         text="Short and new.", html=None, now=NOW)  # fmt: skip
    act(engine, incident_id=draft.incident_id, action="ack", who="web:ana", settings=SETTINGS,
        now=NOW)  # fmt: skip
    shown: dict[str, object] = {}

    def pages() -> None:
        shown["page"] = incident_page_with_messages(engine, incident_id=draft.incident_id)
        shown["queue"] = review_queue(
            engine, setup=setup, pseudonymiser=Pseudonymiser(None), now=NOW
        )

    assert _full_scans(engine, "audit_log", pages) == []
    page, queue = shown["page"], shown["queue"]
    assert [e.kind for e in page.timeline].count("acknowledged") == 1  # type: ignore[attr-defined]
    assert any(r.compared_with is not None for r in queue.pending)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() >= 2
    engine.dispose()


def test_the_overview_lists_series_without_reading_every_window(tmp_path: Path):
    engine = _sqlite(tmp_path)
    store_windows(engine, [(10, 3)] * 10)
    found: list[str] = []
    assert _full_scans(engine, "series_windows", lambda: found.extend(series_keys(engine))) == []
    assert found[0] == "global" and "source:tickets" in found
    assert series_keys(engine, limit=1) == ["global"]
    engine.dispose()
