"""Retention with a moved clock, on SQLite and PostgreSQL: old rows go, young ones stay, and
every count survives the text it was made from."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from detectors.closing import WARM_WINDOWS
from detectors.config import DetectionConfig, load_detection_config
from monitor.settings import Settings, shipped_config_dir
from monitor.shell.config_check import config_problems
from monitor.storage.models import DeadLetter, InboxEntry, Incident, Mention, SeriesWindow
from monitor.yamlfile import ConfigFileError
from playbooks.models import Delivery, Draft
from playbooks.policy import FrequencyCap, SendingConfig
from playbooks.retention import RetentionConfig, enforce_retention, load_retention
from streams.retention import EXPIRED
from tests.conftest import REPO
from tests.unit.factories import NEGATIVE, T0, mention, store

NOW = T0 + timedelta(days=400)
SENDING = SendingConfig()
OLD_TEXT = "My card was charged twice, call me on 555 0100, Jane"


def _windows(engine: Engine) -> dict[tuple[str, datetime], tuple[int, int, float]]:
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.execute(
            select(
                table.c.series,
                table.c.window_start,
                table.c.n,
                table.c.n_negative,
                table.c.sum_compound,
            )
        ).all()
    return {(r[0], r[1]): (r[2], r[3], round(r[4], 6)) for r in rows}


def _closed_windows(
    engine: Engine, series: str, *, start: datetime, count: int, closed: datetime | None = None
) -> None:
    with Session(engine) as session:
        for k in range(count):
            session.add(
                SeriesWindow(
                    series=series,
                    window_start=start + timedelta(minutes=k),
                    window_seconds=60,
                    n=3,
                    closed=True,
                    closed_at=closed or start + timedelta(minutes=k + 1),
                )
            )
        session.commit()


def _delivery(session: Session, key: str, *, draft_id: int, status: str, created: datetime) -> None:
    session.add(
        Delivery(
            idempotency_key=key,
            draft_id=draft_id,
            customer_id=1,
            channel="email",
            status=status,
            next_attempt_at=created,
            created_at=created,
            sent_at=created if status == "sent" else None,
        )
    )


def _incident_with_draft(session: Session, *, status: str) -> int:
    incident = Incident(
        status=status,
        severity="critical",
        title="outage",
        series="global",
        first_window_start=T0,
        last_window_end=T0,
        opened_at=T0,
    )
    session.add(incident)
    session.flush()
    draft = Draft(
        incident_id=int(incident.id or 0),
        playbook="service-outage",
        step_id=f"email-{status}",
        channel="email",
        segment="everyone",
        locale="en",
        body_text="We are on it",
        content_hash="h",
        created_at=T0,
    )
    session.add(draft)
    session.flush()
    return int(draft.id or 0)


def _seed(engine: Engine) -> None:
    # 15 old mentions (several batches of 7), one said long ago but loaded yesterday (a
    # replay), and one from last week.
    store(engine, [mention(f"old-{k}", text=f"{OLD_TEXT} #{k}") for k in range(15)], now=T0)
    store(engine, [mention("replayed", text=NEGATIVE)], now=NOW - timedelta(days=1))
    recent = NOW - timedelta(days=7)
    store(engine, [mention("young", at=recent, text=NEGATIVE)], now=recent)
    _closed_windows(engine, "source:old", start=T0, count=WARM_WINDOWS + 100)
    _closed_windows(engine, "source:young", start=NOW - timedelta(days=1), count=10)
    # Last year's windows replayed yesterday: kept for the full period from the replay.
    yesterday = NOW - timedelta(days=1)
    _closed_windows(engine, "source:replayed", start=T0, count=WARM_WINDOWS + 5, closed=yesterday)
    with Session(engine) as session:
        for days in (31, 29):
            session.add(
                DeadLetter(
                    topic="webhooks",
                    reason="bad json",
                    payload=f'{{"email": "jane{days}@example.com"}}',
                    received_at=NOW - timedelta(days=days),
                )
            )
        for key, done in (("done-old", 8), ("done-young", 6), ("pending-old", None)):
            received = NOW - timedelta(days=30)
            session.add(
                InboxEntry(
                    mention_id=key,
                    payload="{}",
                    received_at=received,
                    done_at=NOW - timedelta(days=done) if done is not None else None,
                )
            )
        resolved = _incident_with_draft(session, status="resolved")
        still_open = _incident_with_draft(session, status="open")
        year_ago = NOW - timedelta(days=366)
        _delivery(session, "resolved-old", draft_id=resolved, status="sent", created=year_ago)
        _delivery(session, "open-old", draft_id=still_open, status="sent", created=year_ago)
        _delivery(session, "pending-old", draft_id=resolved, status="pending", created=year_ago)
        recent_row = NOW - timedelta(days=364)
        _delivery(session, "resolved-young", draft_id=resolved, status="sent", created=recent_row)
        session.commit()


def test_retention_anonymises_and_deletes_only_what_is_older_than_its_limit(engine):
    _seed(engine)
    windows_before = _windows(engine)
    config = RetentionConfig(batch_size=7)

    dry = enforce_retention(engine, config=config, now=NOW, dry_run=True)
    expected = {
        "mention_text": 15,
        "dead_letter_payloads": 1,
        "deliveries": 1,
        "inbox": 1,
        "closed_windows": 100,
    }
    assert dry.counts == expected
    assert _windows(engine) == windows_before  # a dry run changes nothing

    report = enforce_retention(engine, config=config, now=NOW)
    assert report.counts == expected
    with Session(engine) as session:
        texts = {m.external_id: m.text for m in session.execute(select(Mention)).scalars()}
        dead = {d.received_at: d.payload for d in session.execute(select(DeadLetter)).scalars()}
        inbox = sorted(e.mention_id for e in session.execute(select(InboxEntry)).scalars())
        kept = sorted(d.idempotency_key for d in session.execute(select(Delivery)).scalars())
        old_sentiment = session.execute(
            select(func.count()).where(Mention.text == EXPIRED, Mention.label != "")
        ).scalar_one()
    assert {texts[f"old-{k}"] for k in range(15)} == {EXPIRED}
    assert texts["replayed"] == NEGATIVE and texts["young"] == NEGATIVE
    assert old_sentiment == 15  # the mention, its sentiment and its series stay
    assert dead[NOW - timedelta(days=31)] == EXPIRED
    assert "jane29@example.com" in dead[NOW - timedelta(days=29)]
    assert inbox == ["done-young", "pending-old"]
    assert kept == ["open-old", "pending-old", "resolved-young"]

    # Window counts are untouched; only the old source's oldest 100 closed windows went, and
    # the newest WARM_WINDOWS, which its detector warms from, stayed however old.
    after = _windows(engine)
    gone = set(windows_before) - set(after)
    assert len(gone) == 100 and {series for series, _ in gone} == {"source:old"}
    assert max(start for _, start in gone) < min(
        start for series, start in after if series == "source:old"
    )
    assert all(after[key] == windows_before[key] for key in after)
    assert sum(1 for series, _ in after if series == "source:old") == WARM_WINDOWS

    again = enforce_retention(engine, config=config, now=NOW)
    assert again.total == 0


def test_a_kind_kept_for_good_is_never_touched(engine):
    _seed(engine)
    config = RetentionConfig(mention_text_days=None, closed_window_days=None)
    report = enforce_retention(engine, config=config, now=NOW + timedelta(days=3650))
    assert report.counts["mention_text"] == 0 and report.counts["closed_windows"] == 0
    assert report.cutoffs["mention_text"] is None
    with Session(engine) as session:
        assert (
            session.execute(select(func.count()).where(Mention.text == EXPIRED)).scalar_one() == 0
        )


def test_retention_file_errors_name_the_line(tmp_path: Path):
    detection = load_detection_config(shipped_config_dir() / "detection.yaml")
    shipped = load_retention(
        shipped_config_dir() / "retention.yaml", detection=detection, sending=SENDING
    )
    assert shipped == RetentionConfig()  # the shipped file says what the defaults are
    assert (
        load_retention(tmp_path / "none.yaml", detection=detection, sending=SENDING)
        == RetentionConfig()
    )

    path = tmp_path / "retention.yaml"
    path.write_text("mention_text_days: 90\ninbox_days: 0\n")
    with pytest.raises(
        ConfigFileError, match=r"retention.yaml:2: inbox_days: .*greater than or equal to 1"
    ):
        load_retention(path, detection=detection, sending=SENDING)
    path.write_text("mention_text_days: 90\nmention_days: 3\n")
    with pytest.raises(ConfigFileError, match=r"retention.yaml:2: mention_days: Extra inputs"):
        load_retention(path, detection=detection, sending=SENDING)
    # Hour-long windows: the detectors read 1,440 of them back, 60 days.
    hourly = DetectionConfig(window_seconds=3600)
    path.write_text("# windows\n\nclosed_window_days: 30\n")
    with pytest.raises(
        ConfigFileError, match=r"retention.yaml:3: closed_window_days: 30 days is less than the 60"
    ):
        load_retention(path, detection=hourly, sending=SENDING)
    # A frequency cap over 3 days counts deliveries that 2 days of them would have deleted.
    weekly_cap = SendingConfig(frequency_cap=FrequencyCap(max_messages=3, per_hours=72))
    path.write_text("mention_text_days: 90\ndelivery_days: 2\n")
    with pytest.raises(ConfigFileError) as raised:
        load_retention(path, detection=detection, sending=weekly_cap)
    assert str(raised.value) == (
        f"{path}:2: delivery_days: 2 days is less than the 72 hours the frequency cap counts "
        "back (sending.yaml: frequency_cap.per_hours), so the cap could be exceeded"
    )
    path.write_text("delivery_days: 3\n")
    assert load_retention(path, detection=detection, sending=weekly_cap).delivery_days == 3


def test_cli_retention_dry_run_then_for_real(engine, database_url, tmp_path: Path):
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=100)
    store(engine, [mention("cli-old", at=long_ago, text=OLD_TEXT)], now=long_ago)
    store(engine, [mention("cli-new", at=now, text=NEGATIVE)], now=now)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env.update({"CRISISMON_DATABASE_URL": database_url, "COLUMNS": "120"})

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", "db", "retention", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )

    dry = cli("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "mention_text" in dry.stdout and "90 days" in dry.stdout
    assert "dry run: 1 rows would change" in dry.stderr
    with Session(engine) as session:
        assert (
            session.execute(select(func.count()).where(Mention.text == EXPIRED)).scalar_one() == 0
        )

    done = cli()
    assert done.returncode == 0, done.stderr
    assert "1 rows changed" in done.stderr
    with Session(engine) as session:
        texts = {m.external_id: m.text for m in session.execute(select(Mention)).scalars()}
    assert texts == {"cli-old": EXPIRED, "cli-new": NEGATIVE}


def test_a_broken_retention_file_stops_the_start_with_its_line(tmp_path: Path):
    config = tmp_path / "config"
    shutil.copytree(shipped_config_dir(), config)
    path = config / "retention.yaml"
    path.write_text(path.read_text().replace("inbox_days: 7", "inbox_days: seven"))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "seven" in text)
    problems = config_problems(Settings(config_dir=config, data_dir=tmp_path / "data"))
    assert problems == [
        f"{path}:{line}: inbox_days: Input should be a valid integer, unable to parse string "
        "as an integer"
    ]


def test_a_frequency_cap_longer_than_the_kept_deliveries_stops_the_start(tmp_path: Path):
    config = tmp_path / "config"
    shutil.copytree(shipped_config_dir(), config)
    sending = config / "sending.yaml"
    sending.write_text(sending.read_text().replace("per_hours: 24", "per_hours: 9000", 1))
    path = config / "retention.yaml"
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "delivery_" in text)
    problems = config_problems(Settings(config_dir=config, data_dir=tmp_path / "data"))
    assert problems == [
        f"{path}:{line}: delivery_days: 365 days is less than the 9000 hours the frequency cap "
        "counts back (sending.yaml: frequency_cap.per_hours), so the cap could be exceeded"
    ]
