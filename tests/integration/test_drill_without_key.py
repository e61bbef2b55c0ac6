"""A drill that could inject nothing fails and says why, instead of reporting a quiet success."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from monitor.storage.models import Drill
from tests.conftest import REPO, unique_namespace
from tests.integration.helpers import engine_for


def test_a_drill_whose_mentions_are_all_dead_lettered_fails_with_the_reason(
    tansu: str, database_url: str, tmp_path: Path
):
    # Kafka (Tansu standing in) and no CRISISMON_PSEUDONYM_KEY: no key is made per machine, so
    # every drill mention, which carries an author, is dead-lettered.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env.update(
        {
            "CRISISMON_BROKER": tansu,
            "CRISISMON_DATABASE_URL": database_url,
            "CRISISMON_DATA_DIR": str(tmp_path / "data"),
            "CRISISMON_NAMESPACE": unique_namespace(),
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
        }
    )

    started = subprocess.run(
        [sys.executable, "-m", "monitor", "drill", "start", "outage", "--wait", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=REPO,
    )

    assert started.returncode == 1, started.stderr
    last = started.stderr.strip().splitlines()[-1]
    assert last.startswith("crisismon: error: drill injected 0 of "), started.stderr
    total = int(last.split("drill injected 0 of ")[1].split()[0])
    assert total > 200
    assert f"{total} dead-lettered" in last
    assert "CRISISMON_PSEUDONYM_KEY is not set" in last
    assert "started" not in started.stderr, "it does not claim the drill started"
    with Session(engine_for(database_url)) as session:
        (drill,) = session.exec(select(Drill)).all()
    assert drill.injected == 0, "`drill report` shows the same"
