"""Feedback from the alert's Slack buttons, through a real worker on Tansu and PostgreSQL: a
signed click is answered within 3 s, recorded exactly as `crisismon feedback` records it, and
the alert is updated (chat.update through the real AsyncWebClient) to show who said what."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr
from sqlmodel import Session, select

from detectors.feedback import feedback_on
from monitor.incidents.alerts import render_alert
from monitor.incidents.notifiers.slack import SlackNotifier
from monitor.incidents.service import get_detail
from monitor.storage.migrate import upgrade
from monitor.storage.models import Incident, SeriesThreshold, ThresholdChange
from tests.conftest import REPO, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for
from tests.integration.test_playbooks_e2e import SIGNING_SECRET, _slack_post
from tests.playbooks.helpers import outage_incident

SLACK = REPO / "tests" / "data" / "slack"


def click_body(post: dict[str, Any], ts: str, verdict: str, user: str) -> bytes:
    """What Slack posts when ``user`` clicks a feedback button on the posted alert."""
    payload = json.loads((SLACK / "block_actions.json").read_text())
    buttons = next(b for b in post["blocks"] if b.get("block_id") == "incident_feedback")
    button = next(e for e in buttons["elements"] if e["action_id"].endswith(f":{verdict}"))
    payload["user"] = {"id": user, "username": user.lower()}
    payload["container"].update(message_ts=ts, channel_id="C0CRISIS")
    payload["channel"] = {"id": "C0CRISIS"}
    payload["message"] = {
        "type": "message",
        "ts": ts,
        "text": post["text"],
        "blocks": post["blocks"],
    }
    payload["actions"] = [{**button, "block_id": "incident_feedback", "type": "button"}]
    return ("payload=" + quote(json.dumps(payload))).encode()


def test_feedback_buttons_record_and_show_who_said_what(
    tansu, postgres, fake_slack, start_worker, tmp_path: Path
):
    database_url = postgres.create()
    engine = engine_for(database_url)
    upgrade(engine)
    incident_id = outage_incident(engine)
    with Session(engine) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        series = incident.series.split()

    # The alert as the worker posts it, through the real client: it carries the two buttons.
    detail = get_detail(engine, incident_id=incident_id)
    assert detail is not None
    alert = render_alert(detail)
    notifier = SlackNotifier(
        token=SecretStr("xoxb-test-token"), channel="#crisis", base_url=fake_slack.url
    )
    ts = asyncio.run(notifier.post_alert(alert)).rpartition("/")[2]  # ref: CHANNEL/ts
    post = fake_slack.posts[0]
    labels = [
        e["text"]["text"]
        for b in post["blocks"]
        if b.get("block_id") == "incident_feedback"
        for e in b["elements"]
    ]
    assert labels == ["Confirmed", "False alarm"]  # "missed" stays a CLI verdict

    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=fake_slack,
    )
    env.update(
        {"CRISISMON_SLACK_SIGNING_SECRET": SIGNING_SECRET, "CRISISMON_SLACK_APPROVERS": "W111"}
    )
    worker = start_worker(env)

    # A tampered request is refused; a click by someone who may not give feedback changes nothing.
    false_alarm = click_body(post, ts, "false-alarm", "W111")
    assert _slack_post(worker.web_url, false_alarm, tamper=True)[0] == 401
    status, took, _ = _slack_post(worker.web_url, click_body(post, ts, "confirmed", "U999"))
    assert status == 200 and took < 3.0

    status, took, _ = _slack_post(worker.web_url, false_alarm)
    assert status == 200 and took < 3.0
    wait_until(lambda: len(fake_slack.updates) == 1, 30, "the alert updated in Slack")
    given = feedback_on(engine, incident_id=incident_id)
    assert [(f.verdict, f.given_by) for f in given] == [("false-alarm", "slack:W111")]

    # Exactly what `crisismon feedback` does: one step up per series, with the reason audited.
    with Session(engine) as session:
        thresholds = {t.series: t.alert_score for t in session.exec(select(SeriesThreshold))}
        changes = session.exec(select(ThresholdChange)).all()
    assert thresholds == dict.fromkeys(series, 6.0)
    assert {(c.series, c.old_score, c.new_score, c.reason) for c in changes} == {
        (s, 5.0, 6.0, f"false-alarm on incident #{incident_id} by slack:W111") for s in series
    }

    update = fake_slack.updates[0]
    assert (update["channel"], update["ts"]) == ("C0CRISIS", ts)
    assert update["text"] == post["text"]
    shown = json.dumps(update["blocks"])
    assert "*false alarm* by <@W111>" in shown
    # The alert itself and its buttons stay; only the feedback line is added under them.
    without_line = [b for b in update["blocks"] if b.get("block_id") != "incident_feedback_given"]
    assert without_line == post["blocks"]

    # The CLI and Slack write to the same record: the next update lists both verdicts.
    cli = subprocess.run(
        [sys.executable, "-m", "monitor", "feedback", str(incident_id), "confirmed", "--by", "ana"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    again = copy.deepcopy(post)
    again["blocks"] = update["blocks"]
    status, _, _ = _slack_post(worker.web_url, click_body(again, ts, "confirmed", "W111"))
    assert status == 200
    wait_until(lambda: len(fake_slack.updates) == 2, 30, "the second update")
    line = [
        b for b in fake_slack.updates[1]["blocks"] if b.get("block_id") == "incident_feedback_given"
    ]
    assert len(line) == 1
    text = line[0]["elements"][0]["text"]
    assert text.startswith("Feedback: *false alarm* by <@W111>")
    assert "; *confirmed* by ana at " in text
    assert text.split("; ")[-1].startswith("*confirmed* by <@W111> at ")
    assert [f.given_by for f in feedback_on(engine, incident_id=incident_id)] == [
        "slack:W111",
        "ana",
        "slack:W111",
    ]
