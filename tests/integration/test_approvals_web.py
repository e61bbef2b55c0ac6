"""A real worker on SQLite and PostgreSQL: the approvals pages. A pending draft is listed on
/approvals, approved through the page's form (CSRF field), and the outbox sends it; an edit
shows its diff and needs a new approval; a viewer may look but not approve; the message's
effect page and the JSON twins answer."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from monitor.storage.migrate import upgrade
from monitor.storage.models import AuditEntry
from playbooks.drafting import make_drafts
from playbooks.models import Delivery, Draft
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for
from tests.integration.web_login import LoggedIn, login_as
from tests.playbooks.helpers import config_copy, customers, outage_incident, setup_for


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def _call(
    url: str, who: LoggedIn | None = None, form: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    """GET (or POST ``form`` as a browser does: the CSRF token in a form field, no header)."""
    headers = who.headers(csrf=False) if who else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _delivery_status(engine, draft_id: int) -> str | None:
    with Session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.draft_id == draft_id)).first()
        return row.status if row else None


def test_approvals_pages(tansu, database_url, start_worker, tmp_path: Path):
    engine = engine_for(database_url)
    upgrade(engine)
    config = config_copy(tmp_path)
    (config / "sending.yaml").write_text("quiet_hours: null\n")  # whenever the test runs
    now = datetime.now(UTC)
    customers(engine, now=now)
    incident = outage_incident(engine)
    drafts = make_drafts(
        engine, setup=setup_for(config=config), incident_id=incident, change="opened", now=now
    )
    keys = {(d.step_id, d.segment, d.locale): d for d in drafts}
    vip = keys[("outage-email", "vip", "en")]
    sms = keys[("outage-sms-vip", "vip", "fr")]
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env["CRISISMON_CONFIG_DIR"] = str(config)
    web = start_worker(env).web_url
    approver = login_as(web, database_url, "approver")
    viewer = login_as(web, database_url, "viewer")

    # The queue: every pending draft, rendered, with pseudonyms instead of addresses.
    status, page, _ = _call(f"{web}/approvals", viewer)
    assert status == 200, page
    assert f'href="/approvals/{vip.id}"' in page and "Nothing awaits approval" not in page
    assert "psn:" in page and "vip.en@example.com" not in page and "c-vip-en" not in page
    assert f'value="{vip.content_hash}"' not in page  # a viewer gets no approve button
    status, page, _ = _call(f"{web}/approvals", approver)
    assert f'value="{vip.content_hash}"' in page

    # A viewer may not approve, even with a valid CSRF token.
    refused = {"action": "approve", "csrf_token": viewer.csrf_token}
    assert _call(f"{web}/approvals/{vip.id}", viewer, refused)[0] == 403
    # Nor may anyone without the session's CSRF token.
    no_csrf = {"action": "approve", "content_hash": vip.content_hash}
    assert _call(f"{web}/approvals/{vip.id}", approver, no_csrf)[0] == 403
    assert _delivery_status(engine, vip.id) is None

    # Approve through the page's form; the outbox sends it (console channel, consent given).
    form = {**no_csrf, "csrf_token": approver.csrf_token}
    status, _, headers = _call(f"{web}/approvals/{vip.id}", approver, form)
    assert (status, headers["Location"]) == (303, "/approvals?done=approve")
    wait_until(lambda: _delivery_status(engine, vip.id) == "sent", 30, "the outbox to send it")
    with Session(engine) as session:
        entry = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "approve", AuditEntry.subject == f"draft:{vip.id}")
            .order_by(col(AuditEntry.id).desc())
        ).first()
    assert entry is not None and entry.actor == "web:approver-user"
    status, page, _ = _call(f"{web}/approvals?done=approve", approver)
    assert "Approved" in page and "web:approver-user" in page

    # Edit the approved SMS after approving it: the page shows the diff and asks again.
    form = {
        "action": "approve",
        "content_hash": sms.content_hash,
        "csrf_token": approver.csrf_token,
    }
    assert _call(f"{web}/approvals/{sms.id}", approver, form)[0] == 303
    edited = {
        "action": "edit",
        "csrf_token": approver.csrf_token,
        "subject": "",
        "text": "Panne en cours <b>ici</b>.\r\nNous revenons vers vous.",
        "html": "",
    }
    status, _, headers = _call(f"{web}/approvals/{sms.id}", approver, edited)
    assert (status, headers["Location"]) == (303, f"/approvals/{sms.id}?done=edit")
    status, page, _ = _call(f"{web}/approvals/{sms.id}?done=edit", approver)
    assert "needs an approval" in page and "Changes against the approved copy" in page
    assert '<tr class="added"><td class="op">+</td><td><code>Panne en cours &lt;b&gt;ici' in page
    assert re.search(r'<tr class="removed">', page)
    with Session(engine) as session:
        again = session.get(Draft, sms.id)
        assert again is not None and again.status == "pending"
        assert again.body_text == "Panne en cours <b>ici</b>.\nNous revenons vers vous."

    # The JSON twin of the page, and the email's HTML under its own sandboxing policy.
    status, text, _ = _call(f"{web}/api/drafts/{sms.id}", viewer)
    review = json.loads(text)
    assert status == 200 and review["needs_new_approval"] is True
    assert review["compared_with"]["content_hash"] == sms.content_hash
    assert review["recipients"]["count"] == 1 and review["recipients"]["sample"][0].startswith(
        "psn:"
    )
    status, html, headers = _call(f"{web}/approvals/{vip.id}/preview", viewer)
    assert status == 200 and html.startswith("<") and "vip.en@example.com" not in html
    assert headers["Content-Security-Policy"].startswith("sandbox;")
    assert _call(f"{web}/api/drafts/99999", viewer)[0] == 404
    # The drafts list gives a viewer no customer's id, nor a signed unsubscribe link that works
    # (the stored preview was rendered for a real recipient).
    status, text, _ = _call(f"{web}/api/drafts", viewer)
    listed = json.loads(text)["drafts"]
    assert status == 200 and listed and all("preview" not in d for d in listed)
    assert "c-vip-en" not in text and "unsubscribe?c=" not in text
    assert _call(f"{web}/approvals/x", viewer)[0] == 404

    # Did our message help? The hour after the send has not passed.
    status, page, _ = _call(f"{web}/incidents/{incident}/effect", viewer)
    assert status == 200 and "Segment vip" in page
    status, text, _ = _call(f"{web}/api/incidents/{incident}/effect", viewer)
    effect = json.loads(text)
    segment = next(s for s in effect["segments"] if s["segment"] == "vip")
    assert {s["step"] for s in segment["sends"]} == {"outage-email"}
    assert _call(f"{web}/api/incidents/99999/effect", viewer)[0] == 404
