"""A crisis among VIP customers only, through the real worker on Tansu and PostgreSQL: the
tickets' pseudonymised customer ids meet the imported customers, and the incident names
segment:vip while global stays quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from monitor.privacy import Privacy
from monitor.storage.migrate import upgrade
from monitor.storage.models import Incident, Mention
from playbooks.customers import CustomerIn, upsert
from streams.simulator import simulate
from tests.conftest import TEST_PSEUDONYM_KEY, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for, mention_count, publish, write

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


def test_a_vip_only_crisis_opens_an_incident_on_segment_vip(
    tansu, postgres, fake_slack, start_worker, tmp_path: Path
):
    database_url = postgres.create()
    engine = engine_for(database_url)
    upgrade(engine)
    # Three ordinary hours from 11:00, then VIPs' angry tickets from 14:00 for 20 minutes.
    scenario = simulate(
        "segment-crisis",
        start=MONDAY + timedelta(hours=11),
        days=200 / 1440,
        onset_after=timedelta(hours=3),
        run_id="live",
    )
    customers = [CustomerIn.model_validate(c) for c in scenario.customers]
    privacy = Privacy.from_key(TEST_PSEUDONYM_KEY)
    upsert(engine, customers=customers, now=MONDAY, pseudonymiser=privacy.pseudonymiser)

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
    publish(write(scenario.items, tmp_path / "vip.jsonl"), broker_url=tansu, namespace=namespace)
    wait_until(lambda: mention_count(engine) == len(scenario.items), 120, "every mention stored")

    def incidents() -> list[Incident]:
        with Session(engine) as session:
            return list(session.exec(select(Incident)).all())

    wait_until(
        lambda: any("segment:vip" in i.series.split() for i in incidents()),
        60,
        "an incident on segment:vip",
    )
    (incident,) = incidents()  # one incident, and global is not part of it
    assert "segment:vip" in incident.series.split()
    assert "global" not in incident.series.split()
    assert scenario.onset is not None
    assert incident.first_window_start <= scenario.onset + timedelta(minutes=2)
    # The labelling queue may post its own request to the channel first (docs/slack.md).
    alerts = lambda: [p for p in fake_slack.posts if "to label" not in p["text"]]  # noqa: E731
    wait_until(lambda: len(alerts()) >= 1, 30, "the Slack alert")
    assert "segment:vip" in alerts()[0]["text"]

    # Tickets are attributed through pseudonyms: no raw customer id was stored with a mention.
    with Session(engine) as session:
        ids = {m.customer_id for m in session.exec(select(Mention)).all() if m.customer_id}
    assert ids and all(i.startswith("psn:") for i in ids)
