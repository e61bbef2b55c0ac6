"""A running worker refits its taught layer when labels are taught, and scores later mentions
with the business's own words differently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from detectors.sentiment.labels import add_labels
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for, publish, write
from tests.integration.test_sentiment_live import labels
from tests.unit.test_sentiment_labels import PROBE, TAUGHT


def test_the_live_worker_uses_labels_taught_while_it_runs(tansu, start_worker, tmp_path: Path):
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

    def send(external_id: str) -> None:
        item = {
            "source": "tickets",
            "external_id": external_id,
            "text": PROBE,
            "event_time": (now + timedelta(minutes=1)).isoformat(),
        }
        publish(
            write([item], tmp_path / f"{external_id}.jsonl"), broker_url=tansu, namespace=namespace
        )

    send("before")
    wait_until(lambda: "before" in labels(engine), 60, "the first mention to be stored")
    assert labels(engine)["before"] == "neutral"

    # What `crisismon sentiment teach` stores; the worker polls for labels every few seconds.
    add_labels(engine, TAUGHT, source="tickets.csv", who="qa", now=now)
    sent = 0

    def later_copy_is_negative() -> bool:
        nonlocal sent
        stored = labels(engine)
        if any(stored.get(f"after-{k}") == "negative" for k in range(sent)):
            return True
        if sent == 0 or f"after-{sent - 1}" in stored:
            send(f"after-{sent}")
            sent += 1
        return False

    wait_until(later_copy_is_negative, 60, "a later copy to be scored negative", interval=1.0)
    assert labels(engine)["before"] == "neutral"
