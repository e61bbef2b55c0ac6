"""The labelling queue through a real worker on Tansu and PostgreSQL: the leader posts mentions
to label to Slack (the real AsyncWebClient, the local fake Slack) within the day's cap; signed
clicks from responders record staff corrections and show who labelled what; the first click
wins; someone who may not label is refused and told so; the web API lists the queue and
labels, and refuses bad requests with a message."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, select

from monitor.settings import shipped_config_dir
from monitor.storage.migrate import upgrade
from monitor.storage.models import SentimentCorrection
from streams.ingest import store_batch
from tests.conftest import REPO, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for
from tests.integration.test_playbooks_e2e import SIGNING_SECRET, _post, _slack_post
from tests.unit.factories import WINDOW, mention, scored

TEXTS = {
    "Thanks for the two-hour delay and a room that smells": 0.38,
    "The parcel says delivered but it is not here": 0.41,
    "Great people but the service needs to change": 0.45,
    "I can't get through to anyone who can help": 0.52,
    "Love the new app, checkout is so quick": 0.97,
}
TOKENS = {"ana": "tok-approver-ana", "vera": "tok-viewer-vera"}


def click_body(post: dict[str, Any], mention_id: str, label: str, user: str) -> bytes:
    """What Slack posts when ``user`` clicks ``label`` for ``mention_id`` in the posted message."""
    payload = json.loads((REPO / "tests" / "data" / "slack" / "block_actions.json").read_text())
    block = next(b for b in post["blocks"] if b.get("block_id") == f"sentiment_label:{mention_id}")
    button = next(e for e in block["elements"] if e["action_id"] == f"sentiment_label:{label}")
    ts = post["ts"]
    payload["user"] = {"id": user, "username": user.lower()}
    payload["container"].update(message_ts=ts, channel_id="C0CRISIS")
    payload["channel"] = {"id": "C0CRISIS"}
    payload["message"] = {
        "type": "message",
        "ts": ts,
        "text": post["text"],
        "blocks": post["blocks"],
    }
    payload["actions"] = [{**button, "block_id": block["block_id"], "type": "button"}]
    return ("payload=" + quote(json.dumps(payload))).encode()


def api(
    worker_url: str, path: str, token: str | None, body: bytes | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is None:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(worker_url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
    status, text = _post(worker_url + path, body, headers)
    return status, json.loads(text)


def test_slack_buttons_and_api_label_the_queue(
    tansu, postgres, fake_slack, start_worker, tmp_path: Path
):
    database_url = postgres.create()
    engine = engine_for(database_url)
    upgrade(engine)
    items = [
        replace(item, confidence=TEXTS[item.mention.text])
        for item in scored(mention(f"s{i}", text=t) for i, t in enumerate(TEXTS))
    ]
    store_batch(engine, items, window_seconds=WINDOW, now=datetime.now(UTC))
    ids = {item.mention.text: item.mention.mention_id for item in items}

    config = tmp_path / "config"
    shutil.copytree(shipped_config_dir(), config)
    sentiment_yaml = config / "sentiment.yaml"
    text = sentiment_yaml.read_text()
    for old, new in (
        ("daily_cap: 20", "daily_cap: 3"),
        ("slack_batch: 3", "slack_batch: 2"),
        ("slack_every_seconds: 3600", "slack_every_seconds: 1"),
    ):
        assert old in text
        text = text.replace(old, new)
    sentiment_yaml.write_text(text)
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=fake_slack,
    )
    env.update(
        {
            "CRISISMON_CONFIG_DIR": str(config),
            "CRISISMON_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "CRISISMON_SLACK_APPROVERS": "W111",
            "CRISISMON_SLACK_RESPONDERS": "W222",
            "CRISISMON_API_TOKENS": f"{TOKENS['ana']}=ana:approver,{TOKENS['vera']}=vera:viewer",
        }
    )
    worker = start_worker(env)

    # The leader posts two, then one more: the day's cap of three is reached.
    wait_until(lambda: len(fake_slack.posts) >= 2, 45, "two labelling posts")
    time.sleep(3)  # a few more ticks: nothing more within the cap
    posts = fake_slack.posts
    assert len(posts) == 2, [p.get("text") for p in posts]
    offered = [
        b["block_id"].partition(":")[2]
        for p in posts
        for b in p["blocks"]
        if b.get("type") == "actions"
    ]
    least_sure = [ids[t] for t in list(TEXTS)[:3]]
    assert offered == least_sure
    assert posts[0]["text"] == "2 mention(s) to label: how do they read?"
    shown = json.dumps(posts[0]["blocks"])
    assert "Thanks for the two-hour delay" in shown and "least sure; scored" in shown
    first_post = {**posts[0], "ts": "1700000000.000100"}
    target = least_sure[0]

    # Tampered: 401. Someone who may not label: refused, told so, nothing recorded.
    assert (
        _slack_post(
            worker.web_url, click_body(first_post, target, "negative", "W222"), tamper=True
        )[0]
        == 401
    )
    status, took, _ = _slack_post(
        worker.web_url, click_body(first_post, target, "positive", "U999")
    )
    assert status == 200 and took < 3.0
    wait_until(lambda: len(fake_slack.ephemerals) == 1, 30, "the refusal")
    refusal = fake_slack.ephemerals[0]
    assert refusal["user"] == "U999" and "may not label" in refusal["text"]

    # A responder labels it: a staff correction, and the message shows who said what.
    status, took, _ = _slack_post(
        worker.web_url, click_body(first_post, target, "negative", "W222")
    )
    assert status == 200 and took < 3.0
    wait_until(lambda: len(fake_slack.updates) == 1, 30, "the message updated")
    update = fake_slack.updates[0]
    assert (update["channel"], update["ts"]) == ("C0CRISIS", "1700000000.000100")
    line = next(b for b in update["blocks"] if b.get("block_id") == f"sentiment_label:{target}")
    assert line["type"] == "context"
    assert line["elements"][0]["text"].startswith("Labelled *negative* by <@W222> at ")
    # The other mention's buttons stay.
    assert [
        b["type"] for b in update["blocks"] if b.get("block_id", "").startswith("sentiment_label:")
    ] == [
        "context",
        "actions",
    ]

    # An approver clicks the same mention later: the first label wins, they are told.
    _slack_post(worker.web_url, click_body(first_post, target, "positive", "W111"))
    wait_until(lambda: len(fake_slack.ephemerals) == 2, 30, "the second clicker told")
    assert fake_slack.ephemerals[1]["user"] == "W111"
    assert "already labelled *negative* by <@W222>" in fake_slack.ephemerals[1]["text"]
    wait_until(lambda: len(fake_slack.updates) == 2, 30, "the message shown again")
    assert "Labelled *negative* by <@W222>" in json.dumps(fake_slack.updates[1]["blocks"])
    with Session(engine) as session:
        corrections = session.exec(select(SentimentCorrection)).all()
    assert [(c.mention_id, c.label, c.who) for c in corrections] == [
        (target, "negative", "slack:W222")
    ]
    wait_until(
        lambda: "learnt 1 staff sentiment correction" in worker.log(), 30, "workers learn it"
    )

    # The web API: the queue (two still waiting in Slack; the cap is used), then a label.
    assert api(worker.web_url, "/api/sentiment/queue", None)[0] == 401
    assert api(worker.web_url, "/api/sentiment/queue", TOKENS["vera"])[0] == 403
    status, listed = api(worker.web_url, "/api/sentiment/queue?limit=10", TOKENS["ana"])
    assert status == 200
    assert [i["mention_id"] for i in listed["items"]] == least_sure[1:]
    assert all(i["offered"] for i in listed["items"])
    assert (listed["daily_cap"], listed["offered_today"]) == (3, 3)
    assert api(worker.web_url, "/api/sentiment/queue?limit=0", TOKENS["ana"]) == (
        400,
        {"error": "limit must be a whole number from 1 to 200"},
    )

    path = f"/api/sentiment/queue/{least_sure[1]}"
    status, body = api(worker.web_url, path, TOKENS["ana"], b'{"label": "furious"}')
    assert (status, body["error"]) == (
        400,
        "label must be one of negative, neutral, positive, got 'furious'",
    )
    status, body = api(
        worker.web_url, "/api/sentiment/queue/nope", TOKENS["ana"], b'{"label": "negative"}'
    )
    assert (status, body["error"]) == (400, "no mention with id 'nope'")
    assert api(worker.web_url, path, TOKENS["ana"], b"{not json")[0] == 400
    assert api(worker.web_url, path, TOKENS["ana"], b"{}")[0] == 400
    assert api(worker.web_url, path, TOKENS["vera"], b'{"label": "negative"}')[0] == 403
    status, body = api(worker.web_url, path, TOKENS["ana"], b'{"label": "Negative"}')
    assert status == 200
    assert (body["label"], body["labelled_by"]) == ("negative", "web:ana")
    # It was posted to Slack: the message now shows both labels, given in Slack and on the web.
    wait_until(lambda: len(fake_slack.updates) == 3, 30, "the message updated after the API")
    refreshed = fake_slack.updates[2]
    assert refreshed["channel"] == "#crisis" and refreshed["text"] == posts[0]["text"]
    lines = {
        b["block_id"].partition(":")[2]: b["elements"][0]["text"]
        for b in refreshed["blocks"]
        if b.get("type") == "context" and b.get("block_id")
    }
    assert lines[target].startswith("Labelled *negative* by <@W222> at ")
    assert lines[least_sure[1]].startswith("Labelled *negative* by web:ana at ")
    status, body = api(
        worker.web_url, f"/api/sentiment/queue/{target}", TOKENS["ana"], b'{"label": "neutral"}'
    )
    assert (status, body["error"]) == (
        409,
        f"mention {target} was already labelled negative by slack:W222",
    )
