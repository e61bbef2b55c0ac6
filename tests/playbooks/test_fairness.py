"""The fairness report on a small made-up year: Spanish speakers' mentions are far more often
negative, their messages arrive later, and two groups are too small to show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from detectors.sentiment.corrections import add_correction
from detectors.series import FanOut, KnownSegments
from monitor.incidents.service import correlate
from monitor.yamlfile import ConfigFileError
from playbooks.fairness import FairnessReport, Group, fairness_report
from playbooks.fairness_config import FairnessConfig, load_fairness_config
from playbooks.fairness_render import to_json, to_markdown
from playbooks.models import Customer, Delivery, Draft
from streams.ingest import score_batch, store_batch
from streams.mentions import MentionIn
from tests.conftest import REPO
from tests.unit.factories import NEGATIVE, NEUTRAL, SCORER, T0, add_anomaly

SINCE = T0 - timedelta(days=1)
OPENED = T0 + timedelta(hours=2)
SEGMENTS = ["vip", "tiny"]


def _mentions(lang: str, authors: int, per_author: int, negative: int) -> list[MentionIn]:
    """``per_author`` mentions by each author, the first ``negative`` of each angry."""
    return [
        MentionIn(
            source="tickets",
            external_id=f"{lang}-{a}-{j}",
            text=NEGATIVE if j < negative else NEUTRAL,
            event_time=T0 + timedelta(minutes=a),
            lang=lang,
            author=f"psn:{lang}{a}",
            customer_id=f"psn:{lang}{a}",
        )
        for a in range(authors)
        for j in range(per_author)
    ]


def _seed(engine: Engine) -> None:
    batch = _mentions("en", 60, 5, 1) + _mentions("es", 20, 3, 2) + _mentions("de", 5, 2, 0)
    members = {f"psn:en{a}": ["vip"] for a in range(30)}
    members.update({f"psn:es{a}": ["vip"] for a in range(10)})
    members.update({f"psn:de{a}": ["tiny"] for a in range(5)})
    fan_out = FanOut(segments=KnownSegments(members))
    scored = score_batch(batch, SCORER, fan_out=fan_out, now=T0)
    store_batch(engine, scored, window_seconds=60, now=T0 + timedelta(hours=1))
    # Staff labels: 12 English negatives the scorer found, 12 Spanish ones it missed.
    for a in range(12):
        for lang, j in (("en", 0), ("es", 2)):
            mention = MentionIn("tickets", f"{lang}-{a}-{j}", "", T0)
            add_correction(
                engine, mention_id=mention.mention_id, label="negative", who="sam", now=T0
            )
    add_anomaly(engine, "a-es", series="lang:es", start=T0, severity="critical")
    change = correlate(engine, anomaly_id="a-es", merge_gap=timedelta(minutes=30), now=OPENED)
    assert change is not None
    _messages(engine, change.incident_id)


def _messages(engine: Engine, incident_id: int) -> None:
    """12 English VIPs told 10 minutes after the opening, 12 Spanish customers after 50 and
    three more of them held back by the frequency cap."""
    with Session(engine) as session:
        for segment, locale, minutes, count, capped in (
            ("vip", "en", 10, 12, 0),
            ("everyone", "es-MX", 50, 12, 3),
        ):
            draft = Draft(
                incident_id=incident_id,
                playbook="service-outage",
                step_id="notify",
                channel="email",
                segment=segment,
                locale=locale[:2],
                body_text="We are on it",
                content_hash="h",
                status="approved",
                created_at=OPENED,
            )
            session.add(draft)
            session.flush()
            for n in range(count + capped):
                customer = Customer(
                    external_id=f"{locale}-{n}",
                    locale=locale,
                    email=f"{locale}{n}@x.example",
                    updated_at=OPENED,
                )
                session.add(customer)
                session.flush()
                sent = n < count
                session.add(
                    Delivery(
                        idempotency_key=f"{incident_id}:{customer.id}:notify",
                        draft_id=int(draft.id or 0),
                        customer_id=int(customer.id or 0),
                        channel="email",
                        status="sent" if sent else "suppressed",
                        reason=None if sent else "frequency cap: 2 messages in 24 h already",
                        next_attempt_at=OPENED,
                        created_at=OPENED,
                        sent_at=OPENED + timedelta(minutes=minutes) if sent else None,
                    )
                )
        session.commit()


@pytest.fixture
def report(engine: Engine) -> FairnessReport:
    _seed(engine)
    return fairness_report(engine, since=SINCE, segments=SEGMENTS, config=FairnessConfig())


def _group(report: FairnessReport, kind: str, name: str) -> Group:
    return next(g for g in report.groups if g.kind == kind and g.name == name)


def test_a_language_far_more_negative_is_flagged_with_both_numbers_and_its_size(report):
    spanish = _group(report, "language", "es")
    flag = next(f for f in spanish.flags if f.figure == "negative_share")

    assert flag.value == pytest.approx(2 / 3, abs=1e-3)
    assert flag.overall == pytest.approx(100 / 370, abs=1e-3)
    assert flag.size == 60  # its mentions (from 20 people)
    assert spanish.figures["mentions"] == 60
    assert "negative_share" not in {f.figure for f in _group(report, "language", "en").flags}
    assert "negative_share" not in {f.figure for f in _group(report, "segment", "vip").flags}


def test_missed_negatives_and_late_messages_are_flagged_too(report):
    spanish = {f.figure: f for f in _group(report, "language", "es").flags}

    assert spanish["negative_recall"].value == 0.0
    assert spanish["negative_recall"].overall == 0.5
    assert spanish["minutes_to_first_message"].value == 50.0
    assert spanish["minutes_to_first_message"].overall == 10.0
    assert spanish["minutes_to_first_message"].size == 15  # customers messaged or held back
    figures = _group(report, "language", "es").figures
    assert figures["capped_per_customer"] == pytest.approx(0.2)
    assert report.overall.figures["sent_per_customer"] == pytest.approx(24 / 27, abs=1e-3)
    assert figures["alert_rate_per_1000"] == pytest.approx(1000 / 60, abs=1e-2)
    assert _group(report, "segment", "vip").figures["alert_rate_per_1000"] == 0.0
    # The main language counts in `global`: it has no rate of its own.
    assert _group(report, "language", "en").figures["alert_rate_per_1000"] is None


def test_groups_smaller_than_k_show_no_figures(report):
    for kind, name in (("language", "de"), ("segment", "tiny")):
        small = _group(report, kind, name)
        assert small.suppressed == ["mentions"]
        assert small.figures == {} and small.sizes == {} and small.flags == []


def test_json_parses_and_markdown_reads_as_a_report(report):
    data = json.loads(to_json(report))
    spanish = next(g for g in data["groups"] if g["name"] == "es")
    assert spanish["sizes"] == {"mentions": 60, "labelled": 12, "customers": 15}
    shares = {f["figure"]: f for f in spanish["flags"]}["negative_share"]
    assert shares["group_size"] == 60 and shares["difference"] > 0.1
    assert next(g for g in data["groups"] if g["name"] == "tiny")["suppressed"] == ["mentions"]

    text = to_markdown(report)
    assert "- language **es** (60 mentions): share negative 0.667 against 0.27 for everyone" in text
    assert "| segment tiny | fewer than 10 | hidden | hidden | hidden |" in text


def test_the_command_prints_the_report_as_json_with_the_configured_k(
    engine: Engine, tmp_path: Path
):
    _seed(engine)
    config = tmp_path / "config"
    config.mkdir()
    (config / "segments.yaml").write_text("segments:\n  vip: {}\n  tiny: {}\n")
    (config / "fairness.yaml").write_text("min_group_size: 25\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env.update(
        CRISISMON_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        CRISISMON_CONFIG_DIR=str(config),
    )
    command = [sys.executable, "-m", "monitor", "report", "fairness", "--format", "json"]
    result = subprocess.run(
        [*command, "--since", "2026-01-01"], env=env, cwd=REPO, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["min_group_size"] == 25 and data["since"].startswith("2026-01-01")
    spanish = next(g for g in data["groups"] if g["name"] == "es")
    # 20 people, 12 labelled mentions, 15 customers: each fewer than 25
    assert spanish["suppressed"] == ["mentions", "labels", "messages"]


def test_a_bad_tolerance_is_refused_with_its_file_and_line(tmp_path: Path):
    path = tmp_path / "fairness.yaml"
    path.write_text("min_group_size: 10\ntolerance:\n  negative_share: -1\n")

    with pytest.raises(ConfigFileError) as refused:
        load_fairness_config(path)
    assert str(refused.value) == (
        f"{path}:3: tolerance.negative_share: Input should be greater than or equal to 0"
    )
    assert load_fairness_config(tmp_path / "absent.yaml") == FairnessConfig()
