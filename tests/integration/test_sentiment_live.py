"""A running worker learns staff corrections from SQL and scores later mentions differently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from detectors.sentiment.corrections import add_correction
from monitor.storage.models import Mention
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for, publish, write

CORRECTED = [
    "Courier left the parcel at the depot, not at my door",
    "Parcel left at the depot again",
    "my parcel is at the depot instead of my house",
]
LATER_SIMILAR = "The courier left my parcel at the depot again"


def labels(engine) -> dict[str, str]:
    with Session(engine) as session:
        return {m.external_id: m.label for m in session.exec(select(Mention)).all()}


def test_the_live_worker_learns_corrections_and_scores_similar_text_negative(
    tansu, start_worker, tmp_path: Path
):
    namespace = unique_namespace()
    database_url = f"sqlite:///{tmp_path / 'live.db'}"
    start_worker(
        service_env(
            broker_url=tansu,
            database_url=database_url,
            data_dir=tmp_path / "data",
            namespace=namespace,
            slack=None,
        )
    )
    engine = engine_for(database_url)
    now = datetime.now(UTC).replace(microsecond=0)

    def item(external_id: str, text: str, minutes: int) -> dict[str, str]:
        at = now + timedelta(minutes=minutes)
        return {
            "source": "tickets",
            "external_id": external_id,
            "text": text,
            "event_time": at.isoformat(),
        }

    first = [item(f"c{i}", text, 0) for i, text in enumerate(CORRECTED)]
    first.append(item("before", LATER_SIMILAR, 0))
    publish(write(first, tmp_path / "first.jsonl"), broker_url=tansu, namespace=namespace)
    wait_until(lambda: len(labels(engine)) == 4, 60, "the first mentions to be stored")
    assert labels(engine)["before"] == "neutral"

    with Session(engine) as session:
        ids = {m.external_id: m.mention_id for m in session.exec(select(Mention)).all()}
    for i in range(len(CORRECTED)):
        add_correction(engine, mention_id=ids[f"c{i}"], label="negative", who="qa", now=now)

    # The worker polls for corrections every few seconds: send the same text again until a
    # copy is scored after it has learnt them.
    sent = 0

    def later_copy_is_negative() -> bool:
        nonlocal sent
        stored = labels(engine)
        if any(stored.get(f"after-{k}") == "negative" for k in range(sent)):
            return True
        if sent == 0 or f"after-{sent - 1}" in stored:
            probe = [item(f"after-{sent}", LATER_SIMILAR, 1)]
            publish(
                write(probe, tmp_path / f"after-{sent}.jsonl"),
                broker_url=tansu,
                namespace=namespace,
            )
            sent += 1
        return False

    wait_until(later_copy_is_negative, 60, "a later copy to be scored negative", interval=1.0)
    assert labels(engine)["before"] == "neutral"
