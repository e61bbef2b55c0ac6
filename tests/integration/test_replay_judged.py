"""`crisismon replay` says which mentions detection will judge, before anyone waits for an alert.

The user's case: one live mention dated now had moved event time past a CSV's windows, and
replaying the CSV "published 478 mentions" with no hint that none would ever be judged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from detectors.judged import closed_until
from monitor.settings import Settings
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.models import SeriesWindow
from tests.conftest import REPO, TEST_PSEUDONYM_KEY, unique_namespace

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _close_global_windows(engine_url: str, *, through: datetime, count: int) -> None:
    engine = make_engine(Settings(database_url=engine_url).resolved_database_url)
    upgrade(engine)
    with Session(engine) as session:
        for back in range(count):
            start = through - timedelta(minutes=back + 1)
            session.add(
                SeriesWindow(
                    series="global", window_start=start, window_seconds=60, n=3, closed=True
                )
            )
        session.commit()
    engine.dispose()


def _replay(tmp_path: Path, tansu: str, database_url: str, file: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env.update(
        {
            "CRISISMON_BROKER": tansu,
            "CRISISMON_DATABASE_URL": database_url,
            "CRISISMON_DATA_DIR": str(tmp_path / "data"),
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
            "CRISISMON_NAMESPACE": unique_namespace(),
            "CRISISMON_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        }
    )
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "replay", str(file)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return " ".join((run.stdout + run.stderr).split())


def _file(path: Path, first: datetime, n: int) -> Path:
    rows = [
        {
            "source": "reviews",
            "text": f"checkout fails again {i}",
            "event_time": (first + timedelta(minutes=i)).isoformat(),
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_replay_behind_the_service_event_time_says_nothing_will_be_judged(tansu, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'judged.db'}"
    _close_global_windows(database_url, through=NOW, count=40)
    yesterday = _file(tmp_path / "yesterday.jsonl", NOW - timedelta(days=1), 12)

    said = _replay(tmp_path, tansu, database_url, yesterday)

    assert "published 12 mentions" in said
    assert "12 of 12 mentions fall in windows the service has already closed" in said
    assert f"{NOW:%Y-%m-%d %H:%M} UTC" in said
    assert "(0 will be)" in said


def test_replay_on_a_fresh_service_says_the_first_windows_only_train(tansu, tmp_path, database_url):
    upgrade_url = Settings(database_url=database_url).resolved_database_url
    _close_global_windows(upgrade_url, through=NOW - timedelta(hours=1), count=5)
    engine = make_engine(upgrade_url)
    until, count = closed_until(engine)
    engine.dispose()
    assert (until, count) == (NOW - timedelta(hours=1), 5)

    recent = _file(tmp_path / "recent.jsonl", NOW - timedelta(minutes=30), 10)
    said = _replay(tmp_path, tansu, database_url, recent)

    assert "already closed" not in said
    assert "the service has closed 5 windows of global so far" in said
    assert "after its first 30 windows (30 min)" in said
