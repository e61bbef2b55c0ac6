"""One real worker per database serving the pages of the public helper's share of issue 15:
the status page without JavaScript, its Atom feed, subscribe → confirmation email (a local
aiosmtpd) → confirm, /sources listing a dead letter that an admin repairs and replays, and
/search with its CSV export finding the replayed mention."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import feedparser
from sqlmodel import Session, select

from monitor.storage.migrate import upgrade
from monitor.storage.models import DeadLetter, Mention
from playbooks.models import ConsentChange
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for
from tests.integration.web_login import login_as
from tests.playbooks.fakes import smtp_server

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _call(
    url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _form(values: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(values).encode()


def test_status_sources_and_search_pages(tansu, database_url, start_worker, tmp_path: Path):
    engine = engine_for(database_url)
    upgrade(engine)
    with Session(engine) as session:
        session.add(
            DeadLetter(
                topic="mentions.raw",
                reason="missing field: text (a string)",
                payload='{"source": "api", "txt": "Checkout keeps failing"}',
                source="api",
                received_at=datetime.now(UTC),
                payload_redacted=False,
            )
        )
        session.commit()
        letter_id = session.exec(select(DeadLetter.id)).one()
    with smtp_server() as smtp:
        env = service_env(
            broker_url=tansu,
            database_url=database_url,
            data_dir=tmp_path / "data",
            namespace=unique_namespace(),
            slack=None,
        )
        env.update(
            {
                "CRISISMON_UNSUBSCRIBE_SECRET": "unsub-secret-for-tests",
                "CRISISMON_SMTP_HOST": "127.0.0.1",
                "CRISISMON_SMTP_PORT": str(smtp.port),
                "CRISISMON_SMTP_FROM": "status@acme.example",
                "CRISISMON_STATUS_PAGE_TITLE": "Acme status",
            }
        )
        worker = start_worker(env)
        web = worker.web_url

        # The status page: its essential content is in the HTML, no script of its own.
        status, html, _ = _call(f"{web}/status")
        assert status == 200
        assert "All systems operational" in html and 'class="banner operational"' in html
        assert 'action="/status/subscribe"' in html and "Incident history" in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script
        assert "style=" not in html
        status, feed, headers = _call(f"{web}/status/feed.atom")
        parsed = feedparser.parse(feed.encode())
        assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
        assert parsed.bozo == 0 and parsed.feed.title == "Acme status"

        # Subscribe: the same answer for any address; a bad one is a readable 400.
        status, page, _ = _call(
            f"{web}/status/subscribe", body=_form({"email": "nope"}), headers=FORM
        )
        assert status == 400 and "email address" in page
        address = "reader@example.org"
        status, page, _ = _call(
            f"{web}/status/subscribe", body=_form({"email": address}), headers=FORM
        )
        assert status == 202 and "confirmation link is on its way" in page
        wait_until(lambda: smtp.to(address), 30, "the confirmation email")
        text = smtp.to(address)[0].get_body(("plain",)).get_content()
        token = re.search(r"/status/confirm\?token=(\S+)", text).group(1)
        status, page, _ = _call(f"{web}/status/confirm?token={token}x")
        assert status == 400 and "not valid" in page
        status, page, _ = _call(f"{web}/status/confirm?token={token}")
        assert status == 200 and "You are subscribed" in page
        with Session(engine) as session:
            granted = session.exec(select(ConsentChange)).all()
        assert [(c.channel, c.how) for c in granted] == [("status_email", "subscribe")]

        # Sources: the dead letter is listed; an admin repairs and replays it.
        admin = login_as(web, database_url, "admin")
        status, page, _ = _call(f"{web}/sources", headers=admin.headers(csrf=False))
        assert status == 200 and "missing field: text" in page
        assert f"/sources/dead-letters/{letter_id}" in page
        status, body, _ = _call(f"{web}/api/dead-letters", headers=admin.headers(csrf=False))
        assert status == 200 and json.loads(body)["dead_letters"][0]["id"] == letter_id
        url = f"{web}/sources/dead-letters/{letter_id}"
        still_bad = '{"source": "api", "txt": "Checkout keeps failing"}'
        form = {"payload": still_bad, "csrf_token": admin.csrf_token}
        status, page, _ = _call(url, body=_form(form), headers={**FORM, **admin.headers()})
        assert status == 400 and "still invalid" in page and "txt" in page  # the edit is kept
        repaired = '{"source": "api", "text": "Checkout keeps failing zxqv"}'
        form = {"payload": repaired, "csrf_token": admin.csrf_token}
        status, page, _ = _call(url, body=_form(form), headers={**FORM, **admin.headers()})
        assert status == 200 and "Replayed: 1 mention" in page
        status, page, _ = _call(url, headers=admin.headers(csrf=False))
        assert "Replayed by web:admin-user" in page

        def stored() -> bool:
            with Session(engine) as session:
                return (
                    session.exec(select(Mention).where(Mention.source == "api")).first() is not None
                )

        wait_until(stored, 30, "the replayed mention to be stored")

        # Search finds it, highlighted; the CSV export too; hostile input is a 400.
        viewer = login_as(web, database_url, "viewer")
        status, page, _ = _call(f"{web}/search?q=zxqv", headers=viewer.headers(csrf=False))
        assert status == 200 and "<mark>zxqv</mark>" in page
        status, body, headers = _call(
            f"{web}/search.csv?q=zxqv&source=api", headers=viewer.headers(csrf=False)
        )
        rows = list(csv.reader(io.StringIO(body)))
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        assert rows[0][0] == "mention_id" and rows[1][-1] == "Checkout keeps failing zxqv"
        for hostile in ('"unbalanced', "NEAR(", "x" * 500):
            query = urllib.parse.urlencode({"q": hostile})
            status, body, _ = _call(f"{web}/api/search?{query}", headers=viewer.headers(csrf=False))
            assert status == 400 and json.loads(body)["error"]
        status, page, _ = _call(f"{web}/search?q=%22open", headers=viewer.headers(csrf=False))
        assert status == 400 and "unbalanced quote" in page
        # A viewer may not replay.
        status, _, _ = _call(
            f"{web}/api/dead-letters/{letter_id}/replay",
            body=json.dumps({"payload": repaired}).encode(),
            headers={"Content-Type": "application/json", **viewer.headers()},
        )
        assert status == 403
