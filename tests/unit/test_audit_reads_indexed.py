"""The audit log gains a row per message sent: the incident page and the approvals queue read
it by subject, so those reads must use an index, not scan the whole log once per draft."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text

from monitor.incidents.actions import act
from monitor.privacy import Pseudonymiser
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from playbooks.approval_review import review_queue
from playbooks.approvals import edit
from playbooks.incident_timeline import incident_page_with_messages
from tests.playbooks.test_approval_review import NOW, _drafts
from tests.unit.test_incident_pages import SETTINGS


def test_pages_read_the_audit_log_through_an_index(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'crisismon.db'}")
    upgrade(engine)
    setup, drafts = _drafts(engine)
    draft = drafts[("outage-sms-vip", "vip", "en")]
    edit(engine, setup=setup, draft_id=draft.id, actor="web:ana", subject=None,
         text="Short and new.", html=None, now=NOW)  # fmt: skip
    act(engine, incident_id=draft.incident_id, action="ack", who="web:ana", settings=SETTINGS,
        now=NOW)  # fmt: skip

    reads: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "audit_log" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    page = incident_page_with_messages(engine, incident_id=draft.incident_id)
    queue = review_queue(engine, setup=setup, pseudonymiser=Pseudonymiser(None), now=NOW)
    event.remove(engine, "before_cursor_execute", capture)
    assert page is not None and [e.kind for e in page.timeline].count("acknowledged") == 1
    assert any(r.compared_with is not None for r in queue.pending)

    assert reads
    with engine.connect() as conn:
        for statement, parameters in reads:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            steps = " / ".join(str(row[-1]) for row in plan)
            assert "SCAN audit_log" not in steps, f"{statement}\n{steps}"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() >= 2
    engine.dispose()
