"""segment:, topic: and product: series: a VIP's mention counts in segment:vip, "charged twice"
in topic:billing, unknown customers count in no segment, and segments follow the data."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from detectors.series import FanOut
from detectors.topics import load_topics
from monitor.privacy import Privacy
from monitor.settings import shipped_config_dir
from monitor.storage.models import Mention, SeriesWindow
from monitor.yamlfile import ConfigFileError
from playbooks.attribution import CustomerSegments
from playbooks.customers import CustomerIn, upsert
from playbooks.models import Customer
from playbooks.segments import load_segments
from streams.ingest import IngestOutcome, ingest_raw_batch
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.unit.factories import LATER, SCORER, T0, WINDOW

PRIVACY = Privacy.from_key(TEST_PSEUDONYM_KEY)
SIGNED_UP = T0 - timedelta(days=400)


class Clock:
    """Monotonic seconds the test moves by hand, to step past the segment cache's TTL."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def customer(external_id: str, **fields: object) -> CustomerIn:
    return CustomerIn.model_validate(
        {"external_id": external_id, "signup_date": SIGNED_UP, "last_activity": T0, **fields}
    )


def fan_out(engine: Engine, clock: Clock | None = None) -> FanOut:
    config = shipped_config_dir()
    lookup = CustomerSegments(
        engine,
        load_segments(config / "segments.yaml"),
        PRIVACY.pseudonymiser,
        clock=clock or Clock(),
    )
    return FanOut(load_topics(config / "topics.yaml"), lookup)


def ingest(engine: Engine, fan: FanOut, *payloads: dict[str, object]) -> IngestOutcome:
    records = [
        (0, json.dumps({"source": "tickets", "event_time": T0.isoformat(), **p}).encode())
        for p in payloads
    ]
    return ingest_raw_batch(
        engine,
        SCORER,
        records,
        window_seconds=WINDOW,
        now=LATER,
        privacy=PRIVACY,
        fan_out=fan,
    )


def counts(engine: Engine) -> dict[str, int]:
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        return {r.series: r.n for r in session.execute(select(table)).all()}


def test_a_vip_customers_ticket_counts_in_segment_vip_without_storing_the_raw_id(engine):
    upsert(
        engine,
        customers=[customer("C-9001", plan="enterprise"), customer("C-17", plan="basic")],
        now=T0,
        pseudonymiser=PRIVACY.pseudonymiser,
    )
    fan = fan_out(engine)
    outcome = ingest(
        engine,
        fan,
        {"external_id": "1", "text": "Where is my order?", "customer_id": "C-9001"},
        {"external_id": "2", "text": "Where is my order?", "customer_id": "C-17"},
    )
    assert outcome.rejected == ()
    found = counts(engine)
    assert found["segment:vip"] == 1  # only the enterprise customer
    assert found["segment:everyone"] == 2
    with Session(engine) as session:
        stored = session.exec(select(Mention)).all()
    ids = {m.customer_id for m in stored}
    assert all(i.startswith("psn:") for i in ids)
    assert "C-9001" not in json.dumps([m.model_dump(mode="json") for m in stored])


def test_a_charged_twice_mention_counts_in_topic_billing_and_a_named_product(engine):
    fan = fan_out(engine)
    ingest(
        engine,
        fan,
        {"external_id": "1", "text": "I was CHARGED  twice for one order!!"},
        {"external_id": "2", "text": "The Android app crashes at checkout"},
        {"external_id": "3", "text": "Great service, thanks", "product": "iOS App"},
    )
    found = counts(engine)
    assert found["topic:billing"] == 1
    assert found["product:checkout"] == 1
    assert found["product:mobile-app"] == 2  # named in the text, or tagged by the source
    assert "topic:login" not in found


def test_unknown_customers_are_in_no_segment_and_ingest_goes_on(engine):
    fan = fan_out(engine)
    outcome = ingest(
        engine,
        fan,
        {"external_id": "1", "text": "Help please", "customer_id": "nobody-we-know"},
        {"external_id": "2", "text": "Help please", "customer_id": "psn:" + "0" * 24},
    )
    assert outcome.rejected == () and len(outcome.stored.new_mention_ids) == 2
    assert not any(series.startswith("segment:") for series in counts(engine))


def test_a_customer_moves_between_segments_once_the_cache_expires(engine):
    clock = Clock()
    fan = fan_out(engine, clock)
    assert fan.segments is not None
    upsert(engine, customers=[customer("C-5", plan="pro")], now=T0, pseudonymiser=None)
    # Imported without a key: the first lookup gives the customer the pseudonym mentions carry.
    pseudonym = PRIVACY.pseudonymiser.pseudonym("customer_id", "C-5")
    assert fan.segments.segments_of({pseudonym}, now=T0)[pseudonym] == ("everyone",)
    with Session(engine) as session:
        assert session.exec(select(Customer.pseudonym)).one() == pseudonym

    upsert(
        engine,
        customers=[customer("C-5", lifetime_value=9000)],
        now=T0,
        pseudonymiser=PRIVACY.pseudonymiser,
    )
    # Within the TTL the cached answer stands; after it, the customer is a VIP.
    assert fan.segments.segments_of({pseudonym}, now=T0)[pseudonym] == ("everyone",)
    clock.now += 61
    assert fan.segments.segments_of({pseudonym}, now=T0)[pseudonym] == ("vip", "everyone")


def test_a_changed_pseudonym_key_re_keys_every_customer(engine):
    old = Privacy.from_key("an-older-key-that-was-replaced")
    upsert(
        engine,
        customers=[customer("C-8", plan="enterprise")],
        now=T0,
        pseudonymiser=old.pseudonymiser,
    )
    fan = fan_out(engine)
    assert fan.segments is not None
    pseudonym = PRIVACY.pseudonymiser.pseudonym("customer_id", "C-8")
    assert "vip" in fan.segments.segments_of({pseudonym}, now=T0)[pseudonym]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("topics:\n  billing: [refund]\n  Login: [log in]\n", ":3: topics.Login: name 'Login'"),
        ("topics:\n  billing: []\n", ":2: topics.billing: List should have at least 1 item"),
        ("products:\n  app:\n    - ok\n    - '?!'\n", ":4: products.app.1: phrase '?!'"),
        ("topics: [billing\n", ": not valid YAML"),
        ("topic:\n  billing: [x]\n", ":1: topic: Extra inputs are not permitted"),
    ],
)
def test_a_bad_topics_file_names_its_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "topics.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as caught:
        load_topics(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_topics_check_shows_matches_and_fails_in_one_line_on_a_bad_file(tmp_path: Path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    def check(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CRISISMON_CONFIG_DIR": str(config)}
        return subprocess.run(
            [sys.executable, "-m", "monitor", "topics", "check", *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = check(shipped_config_dir(), "--text", "Charged twice in the iOS app!")
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().splitlines()[-1] == "topic:billing product:mobile-app"

    (tmp_path / "topics.yaml").write_text(
        "topics:\n  billing:\n    - refund\n    - 12.5.x!\n  Bad: [x]\n"
    )
    bad = check(tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        f"crisismon: error: {tmp_path / 'topics.yaml'}:5: topics.Bad: name 'Bad' must be 1-50 of "
        "a-z, 0-9, '_', '-' and start alphanumeric (it becomes part of a series name)"
    )
