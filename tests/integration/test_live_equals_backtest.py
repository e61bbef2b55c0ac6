"""A file replayed into the real worker opens the same incidents as `backtest_mentions` finds.

Two crises five quarters of an hour apart (an outage, then a wave of double-charge tickets),
replayed as fast as the broker takes them: the worker ingests far ahead of detection, and each
closing pass hands the correlator an hour of windows at once. Correlation must still come out
exactly as the backtest's, which feeds the same rules one window at a time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from detectors.config import load_detection_config
from detectors.dimensions import offline_dimensions
from detectors.sentiment import build_scorer
from detectors.series import FanOut
from detectors.topics import load_topics
from monitor.incidents.backtest import backtest_mentions
from monitor.incidents.service import get_detail, list_incidents
from monitor.privacy import Privacy
from monitor.settings import Settings
from monitor.storage.models import Anomaly
from streams.replay import read_records, validate_one
from streams.scenario import outage_scenario
from tests.conftest import REPO, TEST_PSEUDONYM_KEY, service_env, unique_namespace, wait_until
from tests.integration.helpers import closed_windows, engine_for, publish, write

END = datetime(2026, 1, 5, 12, tzinfo=UTC)  # old event times: the worker treats it as a replay


def two_crises() -> list[dict[str, Any]]:
    """Two hours of ordinary traffic, an outage at 10:54, an hour of calm, then from 12:20 a
    wave of tickets about double charges, each in the customer's own words; ~3,000 mentions."""
    items = outage_scenario(end=END, run_id="lb1", baseline_hours=2.0, calm_minutes=60, seed=11)
    items += outage_scenario(
        end=END + timedelta(minutes=90),
        run_id="lb2",
        baseline_hours=1.5,
        burst_minutes=0,
        calm_minutes=0,
        seed=12,
    )
    rng = random.Random(5)
    openers = ["Hi,", "Hello team,", "Urgent:", "Please help,", "Again?!", "Seriously,"]
    things = ["my subscription", "the pro plan", "this month", "my last order", "the annual plan"]
    endings = [
        "refund it please",
        "what is going on",
        "fix your billing",
        "I want my money back",
        "check your payment system",
        "this is not ok",
    ]
    wave = END + timedelta(minutes=20)
    for minute in range(25):
        for k in range(6):
            moment = wave + timedelta(minutes=minute, seconds=rng.uniform(0, 59.9))
            items.append(
                {
                    "source": "tickets",
                    "external_id": f"lb3-{minute}-{k}",
                    "text": f"{rng.choice(openers)} I was charged twice for "
                    f"{rng.choice(things)}, {rng.choice(endings)}",
                    "event_time": moment.isoformat(),
                    "author": f"customer{rng.randrange(100_000)}",
                }
            )
    items.sort(key=lambda item: item["event_time"])
    return items


def test_a_replay_opens_the_incidents_the_backtest_finds(
    database_url, tansu, fake_slack, start_worker, tmp_path: Path
):
    namespace = unique_namespace()
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=namespace,
        slack=fake_slack,
    )
    start_worker(env)
    engine = engine_for(database_url)
    file = write(two_crises(), tmp_path / "two-crises.jsonl")

    # Offline, as `crisismon backtest` runs it, with the worker's config and pseudonym key.
    settings = Settings(config_dir=REPO / "config")
    privacy = Privacy.from_key(TEST_PSEUDONYM_KEY)
    now = datetime.now(UTC)
    mentions = [
        validate_one(r, default_source=None, now=now, privacy=privacy)
        for _, r in read_records(file)
    ]
    run = backtest_mentions(
        [m for m in mentions if not isinstance(m, str)],
        config=load_detection_config(settings.config_dir / "detection.yaml"),
        scorer=build_scorer(settings.config_dir, settings.sentiment_model),
        fan_out=FanOut(
            load_topics(settings.config_dir / "topics.yaml"),
            dimensions=offline_dimensions(settings.config_dir),
        ),
    )
    # The strongest series, then all of them: scores near a tie (reviews 44.64897 against
    # login 44.64882) differ in the last digits between SQL sums and Python's, and may swap.
    expected = [(i.series[0], sorted(i.series), i.severity, i.opened_at) for i in run.incidents]
    assert [severity for _, _, severity, _ in expected] == ["critical", "critical"], expected

    publish(file, broker_url=tansu, namespace=namespace)
    windows = len(run.results[0].history.rows)
    # Every window but the newest few closes: event time stops with the file, and the
    # watermark (the least of the partitions' newest) may trail its end by a bundle ...
    wait_until(settled(engine, windows - 25), 90, "detection and correlation to settle")

    live = []
    for incident in sorted(list_incidents(engine), key=lambda i: i.id or 0):
        assert incident.id is not None
        detail = get_detail(engine, incident_id=incident.id)
        assert detail is not None
        series = list(dict.fromkeys(a.series for a in detail.anomalies))
        live.append((series[0], sorted(series), incident.severity, incident.first_window_start))
    assert live == expected


def settled(engine: Engine, windows: int) -> Callable[[], bool]:
    """True once ``global`` has closed that many windows, no anomaly waits for correlation and
    nothing has changed for two seconds."""
    seen: list[tuple[int, int, int]] = []

    def check() -> bool:
        with Session(engine) as session:
            total = session.execute(select(func.count()).select_from(Anomaly)).scalar_one()
            waiting = session.execute(
                select(func.count()).select_from(Anomaly).where(col(Anomaly.incident_id).is_(None))
            ).scalar_one()
        seen.append((closed_windows(engine, "global"), int(total), int(waiting)))
        time.sleep(0.5)
        quiet = len(seen) >= 5 and len(set(seen[-5:])) == 1
        return waiting == 0 and seen[-1][0] >= windows and quiet

    return check
