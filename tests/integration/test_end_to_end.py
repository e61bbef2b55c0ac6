"""Mentions from a file, through the real worker on the real broker, to exactly one Slack alert."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from monitor.storage.models import Incident
from streams.scenario import outage_scenario
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import (
    aggregates_vs_recount,
    closed_windows,
    engine_for,
    fixed_end,
    mention_count,
    publish,
    write,
)


def test_spike_fires_one_alert_and_baseline_none(
    database_url, tansu, fake_slack, start_worker, tmp_path: Path
):
    namespace = unique_namespace()
    start_worker(
        service_env(
            broker_url=tansu,
            database_url=database_url,
            data_dir=tmp_path / "data",
            namespace=namespace,
            slack=fake_slack,
        )
    )
    engine = engine_for(database_url)
    items = outage_scenario(end=fixed_end(), run_id="e2e")
    first_burst = min(
        datetime.fromisoformat(i["event_time"]) for i in items if "-burst-" in i["external_id"]
    )
    baseline = [i for i in items if datetime.fromisoformat(i["event_time"]) < first_burst]
    rest = [i for i in items if datetime.fromisoformat(i["event_time"]) >= first_burst]

    # Three ordinary hours (180 windows): most windows close, so the detectors are warm (30
    # windows) before the burst, and nobody is paged. Not all of them: the watermark is the
    # least of the partitions' newest event times, and replay publishes bundles of 20 mentions
    # (about two minutes here), each to the partition its first id hashes to, so a partition
    # that got none of the last few bundles holds the watermark ten or more minutes back.
    publish(write(baseline, tmp_path / "baseline.jsonl"), broker_url=tansu, namespace=namespace)
    wait_until(lambda: closed_windows(engine, "global") >= 150, 60, "baseline windows to close")
    assert mention_count(engine) == len(baseline)
    assert fake_slack.posts == []

    # The outage burst, then calm minutes that move event time past it.
    publish(write(rest, tmp_path / "spike.jsonl"), broker_url=tansu, namespace=namespace)
    # The incident alert has a header; the playbook's Slack alert and drafts are posted too.
    alerts = lambda: [p for p in fake_slack.posts if _is_alert(p)]  # noqa: E731
    wait_until(lambda: len(alerts()) >= 1, 60, "the Slack alert")
    wait_until(lambda: closed_windows(engine, "global") >= 183, 30, "post-burst windows to close")

    assert len(alerts()) == 1, fake_slack.texts()
    post = alerts()[0]
    assert post["channel"] == "#crisis"
    assert post["blocks"][0]["type"] == "header"
    text = post["text"]
    assert "global" in text
    assert "expected" in text and " vs " in text  # observed vs expected, with the usual range
    assert "usual range" in text
    assert "outage" in text.lower() or "down" in text.lower()  # an example mention is quoted

    def incidents() -> list[Incident]:
        with Session(engine) as session:
            return list(session.exec(select(Incident)).all())

    # The alert is recorded after Slack accepts it, so the row may lag the post by a moment.
    wait_until(lambda: incidents()[0].alert_text is not None, 10, "the alert to be recorded")
    assert len(incidents()) == 1
    assert incidents()[0].alert_text == text  # what was posted is what is stored

    # The same file again: stored once, counted once, no second alert.
    everything = write(items, tmp_path / "all.jsonl")
    publish(everything, broker_url=tansu, namespace=namespace)
    publish(everything, broker_url=tansu, namespace=namespace)
    wait_until(lambda: mention_count(engine) == len(items), 30, "all mentions stored")
    # A new sentinel published after the duplicates: once it is stored, the duplicates have
    # been through the pipeline too, so the counts below are final.
    sentinel = {**items[-1], "external_id": "e2e-sentinel"}
    publish(write([sentinel], tmp_path / "sentinel.jsonl"), broker_url=tansu, namespace=namespace)
    wait_until(lambda: mention_count(engine) == len(items) + 1, 30, "the sentinel")
    assert len({i["external_id"] for i in items}) == len(items)
    stored, recount = aggregates_vs_recount(engine)
    assert stored == recount
    assert len(alerts()) == 1


def _is_alert(post: dict) -> bool:
    return any(block.get("type") == "header" for block in post.get("blocks") or [])
