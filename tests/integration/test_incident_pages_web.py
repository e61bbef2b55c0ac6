"""The incident pages on a real worker (SQLite and PostgreSQL): an incident appears on the live
stream, the list speaks the alert's words, the page carries its chart data, and acknowledging
it from the page is audited with the person's name and shows in the timeline."""

from __future__ import annotations

import html
import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from monitor import audit
from monitor.incidents.service import get_detail
from monitor.incidents.views import list_summaries
from monitor.storage.migrate import upgrade
from streams.windows import window_start
from tests.conftest import service_env, unique_namespace
from tests.integration.helpers import engine_for
from tests.integration.web_login import login_as
from tests.unit.test_incident_pages import outage_incident


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _call(
    url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=20) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _next_event(stream: http.client.HTTPResponse, name: str) -> dict:
    """The data of the next ``name`` event on the stream (others and comments are skipped)."""
    event = ""
    for raw in iter(stream.readline, b""):
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == name:
            return json.loads(line.removeprefix("data: "))
    raise AssertionError(f"the stream ended before a {name} event")


def test_incident_pages_live_and_acknowledged(tansu, database_url, start_worker, tmp_path: Path):
    engine = engine_for(database_url)
    upgrade(engine)
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    web = start_worker(env).web_url
    viewer = login_as(web, database_url, "viewer")
    responder = login_as(web, database_url, "responder")

    # No credential: pages send people to sign in, the API and the stream say 401.
    assert _call(f"{web}/incidents")[0] == 303
    assert _call(f"{web}/api/incidents")[0] == 401
    assert _call(f"{web}/api/incidents/1/ack", body=b"")[0] == 401

    # An empty database: helpful empty pages.
    status, page, _ = _call(f"{web}/incidents", headers=viewer.headers(csrf=False))
    assert status == 200 and "No incidents yet" in page
    status, page, _ = _call(f"{web}/overview?range=day", headers=viewer.headers(csrf=False))
    assert status == 200 and 'id="series-data"' in page
    assert _call(f"{web}/overview?range=year", headers=viewer.headers(csrf=False))[0] == 400

    # The live stream: an incident made now is announced within seconds.
    split = urlsplit(web)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=20)
    connection.request("GET", "/events", headers=viewer.headers(csrf=False))
    stream = connection.getresponse()
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.readline() == b"retry: 3000\n"
    assert stream.readline() == b": connected (1 of 100 streams)\n"
    last_minute = window_start(datetime.now(UTC) - timedelta(minutes=1), 60)
    incident_id = outage_incident(engine, tag="web", at=last_minute)
    announced = _next_event(stream, "incident")
    assert announced["id"] == incident_id and announced["severity"] == "critical"
    assert announced["title"] == "Mention volume spike on global"
    connection.close()

    # The list says why it fired in the alert's words.
    detail = get_detail(engine, incident_id=incident_id)
    assert detail is not None
    status, page, _ = _call(f"{web}/incidents?part=list", headers=viewer.headers(csrf=False))
    assert status == 200 and f'href="/incidents/{incident_id}"' in page
    (summary,) = list_summaries(engine)
    for line in summary.why:
        assert html.escape(line) in page
    # The page holds each series' chart data for Chart.js, and the example's drivers.
    status, page, headers = _call(
        f"{web}/incidents/{incident_id}", headers=viewer.headers(csrf=False)
    )
    assert status == 200, page
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    data = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert data is not None
    (chart,) = json.loads(html.unescape(data.group(1)))
    assert chart["series"] == "global" and any(p["anomalous"] for p in chart["points"])
    assert "<mark>site down</mark>" in page
    assert 'name="action" value="ack"' not in page  # a viewer gets no buttons
    status, body, _ = _call(f"{web}/api/incidents/{incident_id}", headers=viewer.headers())
    assert status == 200 and json.loads(body)["charts"][0]["series"] == "global"

    # A viewer may not act; a responder acknowledges from the page's form.
    form = urllib.parse.urlencode({"action": "ack", "csrf_token": responder.csrf_token}).encode()
    as_form = {"Content-Type": "application/x-www-form-urlencoded"}
    denied = _call(
        f"{web}/incidents/{incident_id}",
        body=urllib.parse.urlencode({"action": "ack", "csrf_token": viewer.csrf_token}).encode(),
        headers={**viewer.headers(csrf=False), **as_form},
    )
    assert denied[0] == 403
    status, _, headers = _call(
        f"{web}/incidents/{incident_id}",
        body=form,
        headers={**responder.headers(csrf=False), **as_form},
    )
    assert status == 303 and headers["Location"] == f"/incidents/{incident_id}?done=ack"
    (entry,) = [
        e for e in audit.entries(engine, subject_prefix="incident:") if e.action == "acknowledge"
    ]
    assert (entry.actor, entry.subject) == ("web:responder-user", f"incident:{incident_id}")
    status, page, _ = _call(f"{web}{headers['Location']}", headers=responder.headers(csrf=False))
    assert status == 200 and "Acknowledged: you have it." in page
    assert re.search(r"Acknowledged <span class=\"muted\">by web:responder-user</span>", page)

    # The JSON twin: a false alarm, then a bad action and an unknown incident.
    url = f"{web}/api/incidents/{incident_id}/false-alarm"
    status, body, _ = _call(url, body=b"", headers=responder.headers())
    assert status == 200 and json.loads(body)["verdict"] == "false-alarm"
    assert (
        _call(f"{web}/api/incidents/{incident_id}/shout", body=b"", headers=responder.headers())[0]
        == 404
    )
    assert (
        _call(f"{web}/api/incidents/999999/resolve", body=b"", headers=responder.headers())[0]
        == 404
    )

    # A stream opened before signing out ends once the session is gone (checked every 10 s),
    # instead of telling a signed-out browser about incidents for hours.
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=40)
    connection.request("GET", "/events", headers=viewer.headers(csrf=False))
    stream = connection.getresponse()
    assert stream.status == 200 and stream.readline() == b"retry: 3000\n"
    origin = {"Origin": web, "Content-Type": "application/x-www-form-urlencoded"}
    signed_out = _call(
        f"{web}/logout",
        body=urllib.parse.urlencode({"csrf_token": viewer.csrf_token}).encode(),
        headers={**viewer.headers(csrf=False), **origin},
    )
    assert signed_out[0] == 303, signed_out
    started = time.monotonic()
    stream.read()  # returns when the server ends the stream (a socket timeout at 40 s if never)
    assert time.monotonic() - started < 30
    connection.close()
