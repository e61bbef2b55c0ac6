"""The crisismon_cluster_* figures count what is in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text
from sqlmodel import Session

from monitor.shell.cluster_metrics import ClusterCollector, read_snapshot
from monitor.storage.models import Incident, SeriesWindow
from playbooks.models import Delivery
from streams.dead_letters import dead_letter_row, store_dead_letter
from streams.mention_bundles import decode_mention
from streams.mentions import InvalidMention, parse_mention
from tests.unit.factories import T0, add_anomaly, mention, store

NOW = datetime(2026, 1, 6, tzinfo=UTC)


def _reason(raw: bytes) -> str:
    """The reason ingest gives for ``raw``, from the real parser."""
    try:
        decode_mention(raw)
    except InvalidMention as exc:
        return str(exc)
    raise AssertionError("expected a rejection")


def _letter(engine: Engine, topic: str, reason: str) -> None:
    row = dead_letter_row(
        topic=topic, reason=reason, payload="{}", source=None, received_at=NOW, retention_days=0
    )
    assert store_dead_letter(engine, row)


def _fill(engine: Engine) -> None:
    store(engine, [mention(i) for i in range(3)])
    _letter(engine, "mentions.raw", _reason(b"\xff not json"))
    _letter(engine, "mentions.raw", _reason(b'{"source": "x", "text": 42}'))
    try:
        parse_mention({"source": "x", "text": "hi", "event_time": "yesterday"}, now=NOW)
    except InvalidMention as exc:
        _letter(engine, "webhooks/zendesk", f"zendesk webhook: {exc}")
    _letter(engine, "series.ticks", "unreadable value: Expecting value: line 1 column 1")
    _letter(engine, "mentions.raw", "something nobody foresaw")
    add_anomaly(engine, "a1", severity="warning", metric="volume")
    add_anomaly(engine, "a2", severity="critical", metric="volume")
    with Session(engine) as session:
        for status, severity, alerted in [
            ("open", "critical", True),
            ("resolved", "warning", False),
        ]:
            session.add(
                Incident(
                    status=status,
                    severity=severity,
                    title="t",
                    series="global",
                    first_window_start=T0,
                    last_window_end=T0,
                    opened_at=NOW,
                    alerted_at=NOW if alerted else None,
                )
            )
        for key, channel, status, attempts in [
            ("k1", "email", "sent", 1),
            ("k2", "email", "dead", 5),
            ("k3", "sms", "pending", 2),
        ]:
            session.add(
                Delivery(
                    idempotency_key=key,
                    draft_id=1,
                    customer_id=1,
                    channel=channel,
                    status=status,
                    attempts=attempts,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )
        session.commit()


def test_the_snapshot_counts_every_table(engine: Engine) -> None:
    assert read_snapshot(engine).mentions_stored == 0
    _fill(engine)
    snapshot = read_snapshot(engine)
    assert snapshot.mentions_stored == 3
    assert snapshot.dead_letters == {
        ("mentions.raw", "not_json"): 1,
        ("mentions.raw", "missing_field"): 1,
        ("mentions.raw", "other"): 1,
        ("webhooks/zendesk", "bad_event_time"): 1,
        ("series.ticks", "unreadable_record"): 1,
    }
    assert snapshot.anomalies == {("warning", "volume"): 1, ("critical", "volume"): 1}
    assert snapshot.incidents == {("open", "critical"): 1, ("resolved", "warning"): 1}
    assert snapshot.alerts == {("critical",): 1}
    assert snapshot.deliveries == {
        ("email", "sent"): 1,
        ("email", "dead"): 1,
        ("sms", "pending"): 1,
    }
    assert snapshot.delivery_attempts == {("email",): 6, ("sms",): 2}
    assert snapshot.inbox_backlog == 0 and snapshot.windows_closed_recently == 0


def test_windows_closed_counts_recent_closes_so_retention_never_makes_it_fall(
    engine: Engine,
) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        for minutes_ago, closed in [(1, True), (3, True), (60 * 24 * 100, True), (2, False)]:
            start = now - timedelta(minutes=minutes_ago + 1)
            session.add(
                SeriesWindow(
                    series="global",
                    window_start=start,
                    window_seconds=60,
                    closed=closed,
                    closed_at=now - timedelta(minutes=minutes_ago) if closed else None,
                )
            )
        session.commit()
    assert read_snapshot(engine).windows_closed_recently == 2


async def test_the_collector_serves_text_and_caches(engine: Engine) -> None:
    _fill(engine)
    registry = CollectorRegistry()
    collector = ClusterCollector(lambda: engine, cache_seconds=60)
    registry.register(collector)
    await collector.refresh()
    store(engine, [mention("late")])
    await collector.refresh()  # within the cache: the same figures
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    assert samples[("crisismon_cluster_mentions_stored_total", ())] == 3
    assert samples[("crisismon_cluster_metrics_up", ())] == 1
    key = (
        "crisismon_cluster_dead_letters_total",
        (("reason", "not_json"), ("topic", "mentions.raw")),
    )
    assert samples[key] == 1
    assert (
        samples[("crisismon_cluster_deliveries", (("channel", "sms"), ("status", "pending")))] == 1
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_slow_database_never_hangs_the_scrape(engine: Engine) -> None:
    _fill(engine)
    collector = ClusterCollector(lambda: engine, cache_seconds=0, timeout=0.5)
    registry = CollectorRegistry()
    registry.register(collector)
    for attempt in ("first read", "later read"):
        with engine.connect() as blocker:  # a long migration, say: every read of mentions waits
            blocker.execute(text("LOCK TABLE mentions IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            await collector.refresh()
            assert time.monotonic() - started < 1.5, attempt
            assert registry.get_sample_value("crisismon_cluster_metrics_up") == 0
            stored = registry.get_sample_value("crisismon_cluster_mentions_stored_total")
            # Never a made-up 0 before the first read; the last figures after it.
            assert stored == (None if attempt == "first read" else 3), attempt
            await asyncio.sleep(0.3)  # PostgreSQL cancels the blocked read at 0.5 s
            blocker.rollback()
        await collector.refresh()  # reads again at once
        assert registry.get_sample_value("crisismon_cluster_metrics_up") == 1
        assert registry.get_sample_value("crisismon_cluster_mentions_stored_total") == 3
