"""`crisismon sentiment queue`, as a user runs it: the list, then labelling it at the prompt."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.models import SentimentCorrection
from streams.ingest import store_batch
from tests.conftest import REPO
from tests.integration.test_service import cli_env
from tests.unit.factories import WINDOW, mention, scored

TEXTS = {
    "The parcel says delivered but it is not here": 0.41,
    "Thanks for the two-hour delay and a room that smells": 0.38,
    "How do I change my delivery address?": 0.92,
}


def crisismon(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env=env,
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_queue_lists_then_labels_at_the_prompt(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'crisismon.db'}"
    engine = make_engine(url)
    upgrade(engine)
    items = [
        replace(item, confidence=TEXTS[item.mention.text])
        for item in scored(mention(f"q{i}", text=t) for i, t in enumerate(TEXTS))
    ]
    store_batch(engine, items, window_seconds=WINDOW, now=datetime.now(UTC))
    ids = {item.mention.text: item.mention.mention_id for item in items}
    env = {**cli_env(tmp_path), "CRISISMON_DATABASE_URL": url}

    listed = crisismon(["sentiment", "queue", "--limit", "2"], env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    first = ids["Thanks for the two-hour delay and a room that smells"]
    assert lines[0].startswith(f"{first}  least sure  ")
    assert " 0.38 " in lines[0] and lines[0].endswith("a room that smells")
    assert "2 to label; 0 of today's 20 offered or labelled" in listed.stderr

    # n for the first, an unknown key asks again, s skips the second, u labels the third.
    labelled = crisismon(["sentiment", "queue", "--label", "--who", "ana"], env, "n\nx\ns\nu\n")
    assert labelled.returncode == 0, labelled.stderr
    assert labelled.stdout.count("[n]egative, ne[u]tral, [p]ositive, [s]kip, [q]uit") == 4
    assert "correction #1: negative (it was scored" in labelled.stdout
    assert "2 label(s) recorded as ana" in labelled.stderr
    with Session(engine) as session:
        rows = session.exec(select(SentimentCorrection).order_by(SentimentCorrection.id)).all()
    assert [(r.mention_id, r.label, r.who) for r in rows] == [
        (first, "negative", "ana"),
        (ids["How do I change my delivery address?"], "neutral", "ana"),
    ]
    # What is labelled leaves the queue; the skipped one stays; two of the cap are used.
    again = crisismon(["sentiment", "queue"], env)
    assert [line.split()[0] for line in again.stdout.splitlines()] == [
        ids["The parcel says delivered but it is not here"]
    ]
    assert "2 of today's 20 offered or labelled" in again.stderr
    engine.dispose()
