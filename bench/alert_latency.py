"""Alert latency: from the close of a burst's window to Slack receiving its alert, live.

The embedded service (Tansu, SQLite, a worker) runs on a copy of ``config/`` with a short time
scale, and posts its alerts with the real Slack client to a fake Slack Web API on loopback,
which stamps each ``chat.postMessage`` with the wall clock when it arrives. Mentions go in
through ``POST /api/mentions`` with ``event_time`` = now, as a live source sends them:

* steady traffic (a Poisson stream, a share of it tagged with one of the products) runs from
  the start to the end, so every series is warm and live before the first burst;
* then every ``PERIOD_WINDOWS`` windows one burst: ``BURST_SIZE`` complaints in one request at
  the start of a window, all tagged with a product of their own (``product:bpNN``), so each
  burst is its own incident and its alert names the burst's series.

Latency is the fake Slack's receive time of the alert that names the burst's product minus the
moment the burst window *could* first be judged: its end plus ``allowed_lateness_seconds``, on
the wall clock. Whatever closes windows (a timer, event-time ticks, a deadline), that is the
earliest a correct engine may alert, so the number is comparable across engines. Bursts that
never alert, alerts shared by two bursts and alerts that name no burst are reported, not hidden.

What the copy of ``config/detection.yaml`` changes (everything else is as shipped, including
``incidents.alert_gather_seconds``), see `TIMESCALE`:

* 1 s windows, 1 s lateness and 10 warm-up windows, so the run takes minutes, not hours. An
  odd window length also matters: live windows were closed by a 2 s timer, and with an even
  one every deadline would fall at the same phase of that timer, sampling one latency only;
* ``spike_span_windows: 1``: a span finding would flag the windows after a burst as well and
  chain every burst into one incident (bursts are seconds apart here, not hours);
* ``merge_gap_seconds: 0``: anomalies merge only into an incident whose windows they touch.

Where the time goes: after the run the database (window closed, incident opened, alert
claimed) and the broker's record timestamps (anomaly sent, paging event sent) give each burst's
moments, measured from the same deadline; see `STAGES`.

Run: ``python -m bench.alert_latency [--bursts 50]``; about 30 s plus 5 s per burst.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import random
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from aiohttp import web
from pydantic import SecretStr
from sqlmodel import Session, select

from bench.sustained import live_load
from monitor.kafka_probe import parse_bootstrap
from monitor.settings import Settings, shipped_config_dir
from monitor.shell.service import Service, ServiceError, pick_web_port
from monitor.storage.db import make_engine
from monitor.storage.models import Anomaly, Incident
from tests.fake_servers import Recorded, serve

WINDOW_SECONDS = 1
LATENESS_SECONDS = 1.0
# Overrides of config/detection.yaml (dotted keys); see the module docstring for why.
TIMESCALE: dict[str, Any] = {
    "window_seconds": WINDOW_SECONDS,
    "allowed_lateness_seconds": LATENESS_SECONDS,
    "detector.warmup_windows": 10,
    "detector.spike_span_windows": 1,
    "incidents.merge_gap_seconds": 0,
}
# Windows of steady traffic before the first burst (warm-up is 10 closed windows).
WARM_WINDOWS = 15
# A burst every this many windows: the windows in between are quiet, so incidents never touch;
# odd, so that successive deadlines alternate between the two phases of a 2 s timer.
PERIOD_WINDOWS = 5
BURST_SIZE = 30
# Steady traffic, mentions per second, and the share of it tagged with one of the products.
RATE = 4.0
PRODUCT_SHARE = 0.3
# How long after the last burst's window closes its alert may still arrive.
DRAIN_SECONDS = 20.0
# A burst goes out this long after its window starts (the send itself must land in the window).
BURST_OFFSET = 0.05

# A throwaway token for the local fake Slack, made per run: nothing real is ever in the tree.
SLACK_TOKEN = secrets.token_hex(16)
SLACK_CHANNEL = "#bench-alerts"
_PRODUCT = re.compile(r"product:(bp\d+)")
_INCIDENT = re.compile(r"Incident #(\d+)")

_CALM = (
    "just set up my new account, looks nice",
    "the weekly report arrived as usual",
    "thanks for the quick answer yesterday",
    "how do I change the colour of the dashboard",
    "my team likes the new layout",
    "is there a way to export this as a spreadsheet",
    "got the newsletter, interesting read",
    "can someone tell me where the settings page went",
    "works fine for me this morning",
    "what are your opening hours on Friday",
)
_ANGRY = (
    "this update broke everything for me, awful",
    "furious, it keeps crashing every few minutes",
    "terrible experience today, nothing I try helps",
    "worst release ever, I want it fixed now",
    "so annoyed, the new version is useless",
    "completely unusable since this morning, horrible",
)


def product_name(index: int) -> str:
    return f"bp{index:02d}"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (with 50 values, p99 is the worst one); None when empty.

    >>> percentile([3.0, 1.0, 2.0, 4.0], 50), percentile([3.0, 1.0, 2.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def bench_config(target: Path, overrides: Mapping[str, Any] = TIMESCALE) -> Path:
    """A copy of the shipped config/ with ``overrides`` applied to detection.yaml and one
    product per possible burst (``bp00``…``bp99``) added to topics.yaml."""
    shutil.copytree(shipped_config_dir(), target)
    detection_path = target / "detection.yaml"
    detection = yaml.safe_load(detection_path.read_text(encoding="utf-8")) or {}
    for dotted, value in overrides.items():
        *parents, key = dotted.split(".")
        node = detection
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    detection_path.write_text(yaml.safe_dump(detection, sort_keys=False), encoding="utf-8")
    topics_path = target / "topics.yaml"
    topics = yaml.safe_load(topics_path.read_text(encoding="utf-8")) if topics_path.exists() else {}
    topics = topics or {}
    products = dict(topics.get("products") or {})
    products.update({product_name(i): [product_name(i)] for i in range(100)})
    topics["products"] = products
    topics_path.write_text(yaml.safe_dump(topics, sort_keys=False), encoding="utf-8")
    return target


@contextmanager
def live_service(root: Path, env: Mapping[str, str]) -> Iterator[Service]:
    """The embedded service (Tansu, SQLite) on ``root``'s data and config dirs, not started."""
    settings = Settings(
        broker="embedded",
        database_url=SecretStr(f"sqlite:///{root / 'crisismon.db'}"),
        data_dir=root / "data",
        config_dir=root / "config",
        namespace="alertlat",
        pseudonym_key=SecretStr(secrets.token_hex(32)),
    )
    service = Service(
        settings, web_port=pick_web_port(), worker_log=root / "worker.log", extra_env=dict(env)
    )
    try:
        yield service
    finally:
        service.stop()


@dataclass(frozen=True, slots=True)
class SlackPost:
    received: float  # wall clock (epoch seconds) when the request reached the fake Slack
    body: dict[str, Any]

    @property
    def is_alert(self) -> bool:
        """An incident alert (a header block) in the alert channel, not a playbook message."""
        blocks = self.body.get("blocks") or []
        return self.body.get("channel") == SLACK_CHANNEL and any(
            isinstance(b, dict) and b.get("type") == "header" for b in blocks
        )

    @property
    def products(self) -> list[str]:
        return sorted(set(_PRODUCT.findall(str(self.body.get("text", "")))))

    @property
    def incident_id(self) -> int | None:
        found = _INCIDENT.search(str(self.body.get("text", "")))
        return int(found.group(1)) if found else None


@dataclass
class FakeSlack:
    url: str
    posts: list[SlackPost] = field(default_factory=list)

    def alerts(self) -> list[SlackPost]:
        return [p for p in list(self.posts) if p.is_alert]


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    """Slack's ``chat.postMessage`` and ``chat.update`` on loopback, in a thread."""
    box: list[FakeSlack] = []

    def routes(app: web.Application, recorded: Recorded) -> None:
        async def post_message(request: web.Request) -> web.Response:
            received = time.time()
            if request.content_type == "application/json":
                body = dict(await request.json())
            else:
                body = dict(await request.post())
                if isinstance(body.get("blocks"), str):
                    body["blocks"] = json.loads(body["blocks"])
            box[0].posts.append(SlackPost(received, body))
            return web.json_response(
                {"ok": True, "channel": body.get("channel"), "ts": f"{received:.6f}"}
            )

        async def update_message(request: web.Request) -> web.Response:
            return web.json_response({"ok": True, "ts": "0"})

        app.router.add_post("/api/chat.postMessage", post_message)
        app.router.add_post("/api/chat.update", update_message)

    with serve(routes) as (base_url, _recorded):
        box.append(FakeSlack(url=f"{base_url}/api/"))
        yield box[0]


class MentionSender:
    """``POST /api/mentions`` over one keep-alive connection; counts what was refused."""

    def __init__(self, web_url: str) -> None:
        parts = urlsplit(web_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None
        self.failures: list[str] = []

    def send(self, mentions: list[dict[str, Any]]) -> bool:
        body = json.dumps(mentions).encode()
        error = ""
        for _attempt in range(2):
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
                self._conn.request(
                    "POST", "/api/mentions", body, {"Content-Type": "application/json"}
                )
                response = self._conn.getresponse()
                answer = response.read()
                if response.status == 202:
                    return True
                self.failures.append(f"HTTP {response.status}: {answer[:200]!r}")
                return False
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                error = f"{type(exc).__name__}: {exc}"
        self.failures.append(error)
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class Burst:
    index: int
    product: str
    planned: float  # wall clock at which it is due
    event_time: float | None = None  # what the mentions carried (None: not sent)
    accepted: bool = False

    @property
    def window_start(self) -> float | None:
        if self.event_time is None:
            return None
        whole = int(self.event_time)  # as the engine computes it (streams/windows.py)
        return float(whole - whole % WINDOW_SECONDS)

    @property
    def deadline(self) -> float | None:
        """The earliest wall-clock instant a correct engine could judge the burst's window."""
        start = self.window_start
        return None if start is None else start + WINDOW_SECONDS + LATENESS_SECONDS


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _mention(key: str, at: float, text: str, product: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "source": "bench",
        "external_id": key,
        "text": text,
        "event_time": _iso(at),
        "lang": "en",
    }
    if product is not None:
        item["product"] = product
    return item


def run_traffic(
    sender: MentionSender,
    bursts: list[Burst],
    *,
    until: Callable[[float], bool],
    rng: random.Random,
    products: list[str],
) -> int:
    """Steady traffic until ``until(now)``, with each burst sent when due. Mentions sent."""
    sent = 0
    serial = 0
    now = time.time()
    # Every product is mentioned once at the start, so its series is live (and warming) early.
    intro = [_mention(f"intro-{p}", now, f"hello from the {p} team", p) for p in products]
    if sender.send(intro):
        sent += len(intro)
    next_calm = now + rng.expovariate(RATE)
    pending = sorted(bursts, key=lambda b: b.planned)
    while True:
        now = time.time()
        if not pending and until(now):
            return sent
        due = min(next_calm, pending[0].planned) if pending else next_calm
        if due > now:
            time.sleep(due - now)
            continue
        if pending and pending[0].planned <= now:
            burst = pending.pop(0)
            at = time.time()
            burst.event_time = at
            items = [
                _mention(
                    f"burst-{burst.index}-{i}",
                    at,
                    f"{rng.choice(_ANGRY)} ({burst.product} #{i})",
                    burst.product,
                )
                for i in range(BURST_SIZE)
            ]
            burst.accepted = sender.send(items)
            sent += len(items) if burst.accepted else 0
            continue
        serial += 1
        product = rng.choice(products) if rng.random() < PRODUCT_SHARE else None
        if sender.send([_mention(f"calm-{serial}", now, rng.choice(_CALM), product)]):
            sent += 1
        next_calm += rng.expovariate(RATE)


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
    import asyncio

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
            named = _PRODUCT.fullmatch(anomaly.series)
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


def _summary(values: Sequence[float]) -> dict[str, float | None]:
    return {f"p{p}_s": _round(percentile(values, p)) for p in (50, 95, 99)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def measure(
    bursts: int = 50,
    *,
    seed: int = 7,
    verbose: bool = False,
    worker_log: Path | None = None,
    background: int = 0,
) -> dict[str, Any]:
    """Run the service live, send ``bursts`` bursts and measure each one's alert latency.

    ``worker_log``: where to keep a copy of the worker's log (it lives in a temporary dir).
    ``background``: that many more clients post ordinary mentions in batches of 100 as fast
    as the service takes them, the whole time (`bench.sustained.live_load`): bursts inside a
    sustained load."""
    if not 1 <= bursts <= 100:
        raise ValueError("bursts must be 1-100 (one product each)")
    rng = random.Random(seed)
    load_before = os.getloadavg()
    say: Callable[[str], None] = print if verbose else (lambda _msg: None)
    products = [product_name(i) for i in range(bursts)]
    with tempfile.TemporaryDirectory() as tmp, fake_slack() as slack:
        bench_config(Path(tmp) / "config")
        env = {
            "CRISISMON_SLACK_BOT_TOKEN": SLACK_TOKEN,
            "CRISISMON_SLACK_CHANNEL": SLACK_CHANNEL,
            "CRISISMON_SLACK_BASE_URL": slack.url,
        }
        with live_service(Path(tmp), env) as service:
            started = time.monotonic()
            try:
                service.start(on_step=say)
            except ServiceError:
                if service.worker_log is not None and service.worker_log.exists():
                    tail = service.worker_log.read_text(errors="replace").splitlines()[-30:]
                    print("worker log (last lines):", *tail, sep="\n  ")
                raise
            now = time.time()
            first_window = now - now % WINDOW_SECONDS + WINDOW_SECONDS * (WARM_WINDOWS + 1)
            plan = [
                Burst(i, p, first_window + i * PERIOD_WINDOWS * WINDOW_SECONDS + BURST_OFFSET)
                for i, p in enumerate(products)
            ]
            last_due = plan[-1].planned + WINDOW_SECONDS + LATENESS_SECONDS
            say(
                f"{bursts} bursts of {BURST_SIZE} mentions from {_iso(plan[0].planned)}, "
                f"every {PERIOD_WINDOWS * WINDOW_SECONDS} s; steady traffic {RATE}/s"
            )

            def done(at: float) -> bool:
                alerted = {p for a in slack.alerts() for p in a.products}
                return at > last_due + DRAIN_SECONDS or (at > last_due and alerted >= set(products))

            sender = MentionSender(service.web_url)
            stop_background = threading.Event()
            loaded: dict[str, int] = {}
            if background:
                loader = threading.Thread(
                    target=lambda: loaded.update(
                        asyncio.run(
                            live_load(
                                f"{service.web_url}/api/mentions",
                                stop_background,
                                concurrency=background,
                            )
                        )
                    ),
                    daemon=True,
                )
                loader.start()
            load_started = time.monotonic()
            try:
                sent = run_traffic(sender, plan, until=done, rng=rng, products=products)
            finally:
                sender.close()
                stop_background.set()
            load_seconds = time.monotonic() - load_started
            if background:
                loader.join(60)
            stored = Stored.read(service.settings.resolved_database_url)
            outcomes, stray = match_alerts(plan, slack.alerts(), stored.products_by_incident())
            try:
                sent_records: Published | None = published(service)
            except Exception as exc:  # the broker's view is a bonus; the latency stands without
                say(f"could not read the topics back: {exc}")
                sent_records = None
            stages = stage_delays(stored, outcomes, sent_records)
            worker_errors = _worker_errors(service.worker_log)
            if worker_log is not None and service.worker_log is not None:
                shutil.copyfile(service.worker_log, worker_log)
            elapsed = time.monotonic() - started

    latencies = [o.latency for o in outcomes if o.latency is not None]
    result: dict[str, Any] = {
        "bursts": bursts,
        "alerted": len(latencies),
        "alert_p50_s": _round(percentile(latencies, 50)),
        "alert_p95_s": _round(percentile(latencies, 95)),
        "alert_p99_s": _round(percentile(latencies, 99)),
        "alert_min_s": _round(min(latencies)) if latencies else None,
        "alert_max_s": _round(max(latencies)) if latencies else None,
        "not_alerted": [
            {"burst": o.burst.index, "product": o.burst.product, "sent": o.burst.accepted}
            for o in outcomes
            if o.latency is None
        ],
        "alerts_not_naming_their_product": [o.burst.index for o in outcomes if not o.named],
        "shared_alerts": [
            {"burst": o.burst.index, "also_names": list(o.shared_with)}
            for o in outcomes
            if o.shared_with
        ],
        "stray_alerts": [a.body.get("text", "")[:200] for a in stray],
        "stages": {
            name: _summary([s[name] for s in stages.values() if name in s]) for name in STAGES
        },
        "per_burst": [
            {
                "burst": o.burst.index,
                "product": o.burst.product,
                "deadline": o.burst.deadline,
                "latency_s": _round(o.latency),
                "stages_s": stages.get(o.burst.index, {}),
            }
            for o in outcomes
        ],
        "mentions_sent": sent,
        "background_clients": background,
        "background_accepted_per_s": (
            round(loaded.get("accepted", 0) / load_seconds, 1) if background else None
        ),
        "background_503": loaded.get("held_503", 0),
        "mention_requests_refused": sender.failures[:10],
        "slack_posts": len(slack.posts),
        "worker_errors": worker_errors,
        "seconds": round(elapsed, 1),
        # The machine is shared: the 1-minute load average before and after the run.
        "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "config": {**TIMESCALE, "period_windows": PERIOD_WINDOWS, "burst_size": BURST_SIZE},
    }
    return result


def _worker_errors(log: Path | None, limit: int = 10) -> list[str]:
    if log is None or not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    return [line[:300] for line in lines if "ERROR" in line or "Traceback" in line][:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bursts", type=int, default=50, help="bursts to send (1-100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--worker-log", type=Path, help="keep a copy of the worker's log here")
    parser.add_argument(
        "--background",
        type=int,
        default=0,
        help="clients posting ordinary mentions (batches of 100) as fast as accepted, "
        "throughout: bursts inside a sustained load",
    )
    args = parser.parse_args()
    result = measure(
        args.bursts,
        seed=args.seed,
        verbose=True,
        worker_log=args.worker_log,
        background=args.background,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"alerted {result['alerted']}/{result['bursts']} bursts in {result['seconds']} s; "
        f"latency from window end + lateness to Slack: p50 {result['alert_p50_s']} s, "
        f"p95 {result['alert_p95_s']} s, p99 {result['alert_p99_s']} s "
        f"(min {result['alert_min_s']}, max {result['alert_max_s']}); load average "
        f"{result['load_average'][0]} before, {result['load_average'][1]} after, "
        f"{result['cpus']} CPUs"
    )
    print("seconds after the deadline (window end + lateness) when each stage was reached:")
    for name, summary in result["stages"].items():
        figures = ", ".join(f"{k[:-2]} {v}" for k, v in summary.items())
        print(f"  {name:<16} {figures:<36} {STAGES[name]}")
    for key in (
        "not_alerted",
        "alerts_not_naming_their_product",
        "shared_alerts",
        "stray_alerts",
        "mention_requests_refused",
    ):
        if result[key]:
            print(f"{key}: {result[key]}")
    if result["worker_errors"]:
        print("worker log errors:", *result["worker_errors"], sep="\n  ")


if __name__ == "__main__":
    main()
