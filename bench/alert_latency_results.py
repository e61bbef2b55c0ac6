"""The alert-latency bench's results: which alert is whose burst, where the time went."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from bench.alert_latency_service import PRODUCT_IN_TEXT, SlackPost
from bench.alert_latency_traffic import Burst
from monitor.kafka_probe import parse_bootstrap
from monitor.shell.service import Service
from monitor.storage.db import make_engine
from monitor.storage.models import Anomaly, Incident


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (with 50 values, p99 is the worst one); None when empty.

    >>> percentile([3.0, 1.0, 2.0, 4.0], 50), percentile([3.0, 1.0, 2.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


@dataclass(frozen=True, slots=True)
class Outcome:
    burst: Burst
    alert: SlackPost | None
    shared_with: tuple[str, ...] = ()
    # False when the alert's text does not name the burst's product (matched by its incident).
    named: bool = True

    @property
    def latency(self) -> float | None:
        deadline = self.burst.deadline
        if self.alert is None or deadline is None:
            return None
        return self.alert.received - deadline


def match_alerts(
    bursts: Sequence[Burst],
    alerts: Sequence[SlackPost],
    incident_products: Mapping[int, Collection[str]] | None = None,
) -> tuple[list[Outcome], list[SlackPost]]:
    """Each burst's first alert after it was sent that names its product; and the alerts that
    name no burst. An alert whose text names no product (its anomaly arrived after the gather
    pause) is matched through its incident's anomalies, ``incident_products``, if given.

    >>> b = [Burst(0, "bp00", 0.0, 10.2), Burst(1, "bp01", 6.0, 16.2)]
    >>> a = [SlackPost(14.0, {"text": "series: global, product:bp00"})]
    >>> outcomes, stray = match_alerts(b, a)
    >>> [(o.burst.product, o.latency) for o in outcomes], stray
    ([('bp00', 2.0), ('bp01', None)], [])
    """
    ordered = sorted(alerts, key=lambda a: a.received)
    known = incident_products or {}

    def products_of(alert: SlackPost) -> tuple[list[str], bool]:
        if alert.products or alert.incident_id is None:
            return alert.products, True
        return sorted(known.get(alert.incident_id, ())), False

    burst_products = {b.product for b in bursts}
    outcomes = []
    for burst in bursts:
        sent = burst.event_time
        found = next(
            (
                (a, *products_of(a))
                for a in ordered
                if sent is not None and a.received >= sent and burst.product in products_of(a)[0]
            ),
            None,
        )
        if found is None:
            outcomes.append(Outcome(burst, None))
            continue
        alert, products, named = found
        others = tuple(p for p in products if p != burst.product)
        outcomes.append(Outcome(burst, alert, others, named))
    stray = [a for a in ordered if not set(products_of(a)[0]) & burst_products]
    return outcomes, stray


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Published:
    """What the worker sent through the broker, with the records' producer timestamps."""

    anomalies: dict[str, float]  # anomaly id -> sent (epoch seconds)
    paged: dict[int, float]  # incident id -> when the event that made it page was sent


async def _read_topic(bootstrap: str, topic: str) -> list[tuple[float, dict[str, Any]]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[tuple[float, dict[str, Any]]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(*partitions, timeout_ms=1000)
            for batch in batches.values():
                for record in batch:
                    value = json.loads(record.value) if record.value else {}
                    records.append((record.timestamp / 1000.0, value))
        return records
    finally:
        await consumer.stop()


def published(service: Service) -> Published:
    """Read the anomalies and incidents topics back from the broker."""

    bootstrap = ",".join(f"{h}:{p}" for h, p in parse_bootstrap(service.broker_url))
    topic = service.settings.topic_name
    sent = asyncio.run(_read_topic(bootstrap, topic("anomalies")))
    events = asyncio.run(_read_topic(bootstrap, topic("incidents")))
    anomalies = {str(v["anomaly_id"]): ts for ts, v in sent if "anomaly_id" in v}
    paged: dict[int, float] = {}
    for ts, value in events:
        if value.get("paged_now") and "incident_id" in value:
            paged.setdefault(int(value["incident_id"]), ts)
    return Published(anomalies, paged)


# Each stage is measured from the burst window's deadline (end + lateness), cumulatively.
STAGES = {
    # For a window closed by an event-time tick this is when the mentions that moved the
    # watermark were ingested, so it can be earlier than the closing itself.
    "engine_closed": "anomaly.detected_at: the engine's clock when it closed the window",
    "anomaly_sent": "first anomaly of the incident sent to the anomalies topic",
    "incident_opened": "incident.opened_at: the correlator opened the incident",
    "page_sent": "the incident event that made it page sent to the incidents topic",
    "alert_claimed": "incident.alert_claimed_at: after incidents.alert_gather_seconds",
    "slack_received": "the fake Slack received chat.postMessage",
}


@dataclass(frozen=True, slots=True)
class Stored:
    """The anomalies and incidents the run left in the database."""

    anomalies: list[Anomaly]
    incidents: dict[int, Incident]

    @classmethod
    def read(cls, database_url: str) -> Stored:
        engine = make_engine(database_url)
        try:
            with Session(engine, expire_on_commit=False) as session:
                anomalies = list(session.exec(select(Anomaly)).all())
                incidents = {i.id: i for i in session.exec(select(Incident)).all() if i.id}
        finally:
            engine.dispose()
        return cls(anomalies, incidents)

    def products_by_incident(self) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for anomaly in self.anomalies:
            named = PRODUCT_IN_TEXT.fullmatch(anomaly.series)
            if named and anomaly.incident_id is not None:
                found.setdefault(anomaly.incident_id, set()).add(named.group(1))
        return found


def stage_delays(
    stored: Stored, outcomes: Sequence[Outcome], sent: Published | None
) -> dict[int, dict[str, float]]:
    """Per alerted burst (by index), seconds from its deadline to each of `STAGES` reached."""
    anomalies, incidents = stored.anomalies, stored.incidents
    stages: dict[int, dict[str, float]] = {}
    for outcome in outcomes:
        deadline = outcome.burst.deadline
        if outcome.alert is None or deadline is None:
            continue
        own = [
            a.incident_id
            for a in anomalies
            if a.series == f"product:{outcome.burst.product}"
            and _epoch(a.window_start) == outcome.burst.window_start
            and a.incident_id is not None
        ]
        incident = incidents.get(own[0]) if own else None
        if incident is None or incident.id is None:
            continue
        members = [a for a in anomalies if a.incident_id == incident.id]
        moments: dict[str, float | None] = {
            "engine_closed": min((_epoch(a.detected_at) or math.inf) for a in members),
            "anomaly_sent": None,
            "incident_opened": _epoch(incident.opened_at),
            "page_sent": None,
            "alert_claimed": _epoch(incident.alert_claimed_at),
            "slack_received": outcome.alert.received,
        }
        if sent is not None:
            times = [
                sent.anomalies[a.anomaly_id] for a in members if a.anomaly_id in sent.anomalies
            ]
            moments["anomaly_sent"] = min(times, default=None)
            moments["page_sent"] = sent.paged.get(incident.id)
        stages[outcome.burst.index] = {
            name: round(moment - deadline, 3)
            for name, moment in moments.items()
            if moment is not None and math.isfinite(moment)
        }
    return stages


def percentile_summary(values: Sequence[float]) -> dict[str, float | None]:
    return {f"p{p}_s": rounded(percentile(values, p)) for p in (50, 95, 99)}


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
