"""A real worker (SQLite): the labelling queue at /labels and the fairness report at
/reports/fairness. On an empty database both say so. Then a mention driving an incident is
queued with a link to it, its text escaped; a viewer sees it without buttons and may not
label; a responder labels it through the form (CSRF field), the staff correction is stored and
the mention leaves the queue; a second answer is told who was first; an htmx answer swaps the
item in place; the day's cap then shows. The fairness page and its JSON twin show the groups,
the flagged one and the group too small to show; a bad ``since`` is 400."""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from monitor.incidents.service import correlate
from monitor.storage.migrate import upgrade
from monitor.storage.models import SentimentCorrection
from streams.ingest import score_batch, store_batch
from streams.mentions import MentionIn
from tests.conftest import REPO, service_env, unique_namespace
from tests.integration.helpers import engine_for
from tests.integration.web_login import LoggedIn, login_as
from tests.unit.factories import NEGATIVE, NEUTRAL, SCORER, add_anomaly

DRIVER = "The tracking says <b>delivered</b> & yet the parcel is not here"
UNSURE = ["Thanks for the two-hour delay and a room that smells", "Great people, slow refunds"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _call(
    url: str,
    who: LoggedIn | None = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, str]]:
    """GET (or POST ``form`` as a browser does: the CSRF token in a form field, no header)."""
    sent = {**(who.headers(csrf=False) if who else {}), **(headers or {})}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers=sent)
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _seed(engine, now: datetime) -> tuple[str, int]:
    """12 English authors, 10 Spanish ones (all negative: flagged), 3 German ones (too few to
    show), and three mentions worth labelling, one driving an open incident: its mention id
    and the incident's."""
    at = now - timedelta(hours=1)

    def one(key: str, text: str, lang: str) -> MentionIn:
        return MentionIn("tickets", key, text, at, lang=lang, author=f"psn:{key}")

    batch = [one(f"en-{a}", NEUTRAL, "en") for a in range(12)]
    batch += [one(f"es-{a}", NEGATIVE, "es") for a in range(10)]
    batch += [one(f"de-{a}", "Wo ist mein Paket?", "de") for a in range(3)]
    batch += [one(f"q-{n}", text, "en") for n, text in enumerate([DRIVER, *UNSURE])]
    store_batch(engine, score_batch(batch, SCORER, now=now), window_seconds=60, now=now)
    driver = batch[-3].mention_id
    add_anomaly(engine, "a-labels", severity="critical", start=at, example_mention_ids=[driver])
    change = correlate(engine, anomaly_id="a-labels", merge_gap=timedelta(minutes=30), now=now)
    assert change is not None
    return driver, change.incident_id


def test_labelling_queue_and_fairness_pages(tansu, start_worker, tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'labels.db'}"
    engine = engine_for(database_url)
    upgrade(engine)
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    sentiment = config / "sentiment.yaml"
    sentiment.write_text(sentiment.read_text().replace("daily_cap: 20", "daily_cap: 2"))
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env["CRISISMON_CONFIG_DIR"] = str(config)
    web = start_worker(env).web_url
    viewer = login_as(web, database_url, "viewer")
    responder = login_as(web, database_url, "responder")

    # An empty database: both pages say what will appear there.
    status, page, _ = _call(f"{web}/labels", viewer)
    assert status == 200 and "Nothing to label now" in page and "0 of today's 2" in page
    status, page, _ = _call(f"{web}/reports/fairness", viewer)
    assert status == 200 and "Nothing to compare yet" in page

    driver, incident_id = _seed(engine, datetime.now(UTC))

    # A viewer sees the queue, the driver first with its incident, but no buttons.
    status, page, _ = _call(f"{web}/labels", viewer)
    assert status == 200 and 'aria-current="page">Labels' in page
    queued = re.findall(r'id="mention-([0-9a-f]+)"', page)
    assert queued[0] == driver and len(queued) == 2  # the day's cap is 2
    assert f'href="/incidents/{incident_id}">Drives incident #{incident_id}' in page
    assert "says &lt;b&gt;delivered&lt;/b&gt; &amp; yet" in page and "<b>delivered" not in page
    assert "least sure" in page and 'name="label"' not in page
    form = {"mention_id": driver, "label": "negative", "csrf_token": viewer.csrf_token}
    assert _call(f"{web}/labels", viewer, form)[0] == 403

    # A responder labels it through the form; the correction is stored, the mention leaves.
    status, page, _ = _call(f"{web}/labels", responder)
    assert page.count('name="label" value="negative"') == 2
    form = {**form, "csrf_token": responder.csrf_token, "reason": f"incident #{incident_id}"}
    status, _, headers = _call(f"{web}/labels", responder, form)
    assert (status, headers["Location"]) == (303, "/labels?done=negative")
    with Session(engine) as session:
        rows = session.exec(
            select(SentimentCorrection).where(SentimentCorrection.mention_id == driver)
        ).all()
    assert [(r.label, r.who) for r in rows] == [("negative", "web:responder-user")]
    status, page, _ = _call(f"{web}/labels?done=negative", responder)
    assert "Recorded as negative" in page and f'id="mention-{driver}"' not in page
    # The first label wins: a second answer is told who gave it.
    status, page, _ = _call(f"{web}/labels", responder, {**form, "label": "positive"})
    assert status == 409
    assert re.search(r"already labelled negative by web:responder-user at [-\d]+ [:\d]+ UTC", page)

    # With htmx the answered item is replaced in place; then the day's cap is reached.
    other = re.findall(r'id="mention-([0-9a-f]+)"', page)[0]
    status, fragment, _ = _call(
        f"{web}/labels",
        responder,
        {"mention_id": other, "label": "neutral", "csrf_token": responder.csrf_token},
        headers={"HX-Request": "true"},
    )
    assert status == 200 and "Recorded as" in fragment and "<html" not in fragment
    assert re.search(r'<div id="cap" hx-swap-oob="true">\s*<p [^>]*>2 of today.s 2', fragment)
    status, page, _ = _call(f"{web}/labels", responder)
    assert "Today's cap is reached: 2 of 2" in page and 'id="mention-' not in page

    # The fairness report: every language, the negative Spanish flagged, German too small.
    status, page, _ = _call(f"{web}/reports/fairness", viewer)
    assert status == 200 and 'aria-current="page">Fairness' in page
    assert "language es" in page and "language en" in page and "language de" in page
    assert re.search(r'<li class="card flagged">\s*<strong>language es</strong>', page)
    assert 'class="flagged"' in page and "fewer than 10" in page
    status, text, _ = _call(f"{web}/api/reports/fairness?since=2000-01-01", viewer)
    report = json.loads(text)
    groups = {(g["kind"], g["name"]): g for g in report["groups"]}
    assert status == 200 and report["since"].startswith("2000-01-01")
    assert "mentions" in groups[("language", "de")]["suppressed"]
    assert groups[("language", "de")]["figures"] == {}
    es_flags = {f["figure"] for f in groups[("language", "es")]["flags"]}
    assert "negative_share" in es_flags and report["flagged"] >= 1
    status, page, _ = _call(f"{web}/reports/fairness?since=yesterday", viewer)
    assert status == 400 and "is not a date" in page
    status, text, _ = _call(f"{web}/api/reports/fairness?since=2026-13-40", viewer)
    assert status == 400 and "is not a date" in json.loads(text)["error"]
