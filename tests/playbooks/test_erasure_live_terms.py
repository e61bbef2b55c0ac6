"""A running worker's term detectors learnt the erased person's words in memory: told of the
erasure, they forget them, so the next window close does not write them back."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session

from detectors.term_forget import ErasureFollower
from monitor.storage.models import TermBaseline
from playbooks.erasure import erase_person
from streams.ingest import ingest_raw_batch
from tests.playbooks.person_data import (
    EXTERNAL_ID,
    OBSERVED,
    PRIVACY,
    START,
    WINDOW,
    find_everywhere,
    seed_person,
)
from tests.unit.factories import SCORER

NOW = OBSERVED + timedelta(days=1)


def _one_more_mention(engine, seeded, k: int) -> None:
    """Someone else writes in a later window, and the worker closes it: a snapshot is saved."""
    at = START + timedelta(hours=1, minutes=k)
    raw = json.dumps(
        {
            "source": "tickets",
            "external_id": f"later-{k}",
            "text": "checkout works again, thanks",
            "event_time": at.isoformat(),
        }
    ).encode()
    ingest_raw_batch(engine, SCORER, [(0, raw)], window_seconds=WINDOW, now=NOW, privacy=PRIVACY)
    seeded.detectors.on_touch("global", at, at + timedelta(minutes=5), NOW, 0)


def test_a_worker_forgets_the_words_it_learnt_before_the_erasure(engine):
    seeded = seed_person(engine)
    follower = ErasureFollower()
    assert follower.mentions_erased_since(engine, now=NOW) == 0  # nothing yet

    erase_person(
        engine, ref=EXTERNAL_ID, pseudonymiser=PRIVACY.pseudonymiser, actor="cli:dpo", now=NOW
    )
    assert find_everywhere(engine, seeded.needles) == []
    # The worker's memory still holds their words: its next close writes them back.
    _one_more_mention(engine, seeded, 1)
    back = find_everywhere(engine, seeded.needles)
    assert back and set(back) == {"term_baselines.state: zorblax"}

    # Its timer reads the erasure from the audit log and its detectors forget the words.
    erased = follower.mentions_erased_since(engine, now=NOW)
    assert erased == 3
    assert seeded.detectors.forget_erased_words(at_most=erased) >= 1
    assert find_everywhere(engine, seeded.needles) == []
    assert follower.mentions_erased_since(engine, now=NOW) == 0  # each erasure acted on once

    _one_more_mention(engine, seeded, 2)
    assert find_everywhere(engine, seeded.needles) == []
    with Session(engine) as session:
        baseline = session.get(TermBaseline, "global")
    assert baseline is not None and "checkout" in json.loads(baseline.state)["counts"]
