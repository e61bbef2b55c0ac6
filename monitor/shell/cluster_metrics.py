"""Cluster-wide figures read from SQL at scrape time: the ``crisismon_cluster_*`` metrics.

Mentions stored, dead letters, anomalies, incidents, alerts and deliveries are rows in the
database, whichever worker (or detect child process) wrote them. Counting them in SQL gives the
same, correct number from every worker, where in-process counters would each see a part and
reset on restart. So every worker reports the whole cluster: in PromQL take ``max`` over the
workers, never ``sum``.

A scrape must stay cheap and never hang: one read (a few aggregate statements) is shared by
every scrape within `CACHE_SECONDS`; a read that takes longer than `READ_TIMEOUT_SECONDS` is
left to finish in its thread (PostgreSQL cancels it at that time itself) and the scrape serves
the last numbers, with ``crisismon_cluster_metrics_up`` 0 and their age.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func, literal, select, text
from sqlalchemy.sql.elements import ColumnElement

from monitor.storage.models import Anomaly, DeadLetter, InboxEntry, Incident, Mention, SeriesWindow
from playbooks.models import Delivery

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 2.0
# How far back `windows_closed_last_5m` counts closes.
RECENT = timedelta(minutes=5)

# A dead letter's reason is free text (it quotes the bad value); the metric labels it by kind.
# First match wins; patterns are matched on the lower-cased reason.
REASON_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("unreadable_record", ("unreadable %",)),
    ("refused_by_database", ("%the database refused it%",)),
    ("not_json", ("%not valid%json%", "%expected a json object%")),
    ("missing_field", ("%missing%",)),
    ("bad_event_time", ("%event_time%",)),
    ("empty", ("%empty%",)),
    ("invalid_field", ("%must be%", "%outside%", "%at most%")),
)
OTHER_REASON = "other"
MAX_DEAD_LETTER_GROUPS = 200  # topics are few; a cap keeps a hostile producer from exploding it


def reason_kind(reason: ColumnElement[str]) -> ColumnElement[str]:
    """The SQL expression that names a dead letter's kind of reason (see `REASON_KINDS`)."""
    lowered = func.lower(reason)
    whens = [
        (lowered.like(pattern), literal(kind))
        for kind, patterns in REASON_KINDS
        for pattern in patterns
    ]
    return case(*whens, else_=literal(OTHER_REASON))


Labelled = dict[tuple[str, ...], int]  # label values, in the metric's order -> value


@dataclass(frozen=True)
class ClusterSnapshot:
    """One read of the aggregates; label tuples are in the order the metric declares them."""

    mentions_stored: int = 0
    inbox_backlog: int = 0
    windows_closed_recently: int = 0
    dead_letters: Labelled = field(default_factory=dict)  # topic, reason
    anomalies: Labelled = field(default_factory=dict)  # severity, metric
    incidents: Labelled = field(default_factory=dict)  # status, severity
    alerts: Labelled = field(default_factory=dict)  # severity
    deliveries: Labelled = field(default_factory=dict)  # channel, status
    delivery_attempts: Labelled = field(default_factory=dict)  # channel


def read_snapshot(engine: Engine, *, timeout: float = READ_TIMEOUT_SECONDS) -> ClusterSnapshot:
    """Every ``crisismon_cluster_*`` figure, in one transaction."""
    windows = SeriesWindow.__table__  # type: ignore[attr-defined]
    inbox = InboxEntry.__table__  # type: ignore[attr-defined]
    letters = DeadLetter.__table__  # type: ignore[attr-defined]
    anomalies = Anomaly.__table__  # type: ignore[attr-defined]
    incidents = Incident.__table__  # type: ignore[attr-defined]
    deliveries = Delivery.__table__  # type: ignore[attr-defined]
    count = func.count()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # the server gives up too, not only the scrape
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))

        def scalar(query: object) -> int:
            return int(conn.execute(query).scalar_one() or 0)  # type: ignore[call-overload]

        def grouped(*columns: ColumnElement[str]) -> Labelled:
            table = columns[0].table
            rows = conn.execute(select(*columns, count).select_from(table).group_by(*columns))
            return {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in rows}

        kind = reason_kind(letters.c.reason).label("kind")
        dead = conn.execute(
            select(letters.c.topic, kind, count)
            .group_by(letters.c.topic, kind)
            .order_by(count.desc())
            .limit(MAX_DEAD_LETTER_GROUPS)
        )
        attempts = conn.execute(
            select(deliveries.c.channel, func.sum(deliveries.c.attempts)).group_by(
                deliveries.c.channel
            )
        )
        alerted = conn.execute(
            select(incidents.c.severity, count)
            .where(incidents.c.alerted_at.is_not(None))
            .group_by(incidents.c.severity)
        )
        return ClusterSnapshot(
            mentions_stored=scalar(select(count).select_from(Mention.__table__)),  # type: ignore[attr-defined]
            inbox_backlog=scalar(select(count).select_from(inbox).where(inbox.c.done_at.is_(None))),
            # Recent closes, not all closed rows: retention deletes windows older than its
            # limit, and a total that falls would look to rate() like a counter reset.
            windows_closed_recently=scalar(
                select(count)
                .select_from(windows)
                .where(windows.c.closed_at >= datetime.now(UTC) - RECENT)
            ),
            dead_letters={(str(topic), str(k)): int(n) for topic, k, n in dead},
            anomalies=grouped(anomalies.c.severity, anomalies.c.metric),
            incidents=grouped(incidents.c.status, incidents.c.severity),
            alerts={(str(severity),): int(n) for severity, n in alerted},
            deliveries=grouped(deliveries.c.channel, deliveries.c.status),
            delivery_attempts={(str(channel),): int(n or 0) for channel, n in attempts},
        )


class ClusterCollector(Collector):
    """Serves the last `ClusterSnapshot`; `refresh` reads a new one when it is stale."""

    def __init__(
        self,
        engine_of: Callable[[], Engine],
        *,
        cache_seconds: float = CACHE_SECONDS,
        timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self._engine_of = engine_of  # called on the first refresh: no database at import time
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.snapshot = ClusterSnapshot()
        self.read_at: float | None = None  # monotonic time of the snapshot being served
        self.up = False
        self.read_seconds = 0.0
        self._reading: asyncio.Future[ClusterSnapshot] | None = None
        self._started = 0.0

    async def refresh(self) -> None:
        """Read the aggregates again unless the last read is fresh; at most one read at once."""
        if self.read_at is not None and time.monotonic() - self.read_at < self.cache_seconds:
            return
        reading = self._reading
        if reading is not None and reading.done() and reading.exception() is not None:
            reading = None  # a read an earlier scrape gave up on failed (cancelled by PostgreSQL)
        if reading is None:
            engine = self._engine_of()
            self._started = time.monotonic()
            reading = self._reading = asyncio.ensure_future(
                asyncio.to_thread(read_snapshot, engine, timeout=self.timeout)
            )
        try:
            snapshot = await asyncio.wait_for(asyncio.shield(reading), self.timeout)
        except TimeoutError:
            self.up = False  # still reading: the next scrape takes the result if it is done
            return
        except Exception as exc:
            self._reading = None
            self.up = False
            log.warning("cannot read the cluster metrics: %s", (str(exc).splitlines() or [""])[0])
            return
        self._reading = None
        self.read_seconds = time.monotonic() - self._started
        self.snapshot, self.read_at, self.up = snapshot, time.monotonic(), True

    def collect(self) -> Iterator[Metric]:
        age = time.monotonic() - self.read_at if self.read_at is not None else float("nan")
        yield _meta("up", "1 if the last read of the cluster figures succeeded in time.", self.up)
        yield _meta("age_seconds", "Age of the cluster figures served (NaN before a read).", age)
        yield _meta("read_seconds", "How long the last successful read took.", self.read_seconds)
        # Before the first read the families go out empty: a 0 followed by the real count
        # would look to rate() like every stored mention arriving at once.
        s = self.snapshot  # empty before the first read
        read = self.read_at is not None
        yield _one(
            CounterMetricFamily,
            "mentions_stored",
            "Mentions stored (each once).",
            s.mentions_stored if read else None,
        )
        yield _one(
            GaugeMetricFamily,
            "inbox_backlog",
            "Mentions accepted over HTTP, not yet stored (the SQL inbox; 0 with Kafka).",
            s.inbox_backlog if read else None,
        )
        yield _one(
            GaugeMetricFamily,
            "windows_closed_last_5m",
            "Series windows closed and scored in the last 5 minutes (by their close time).",
            s.windows_closed_recently if read else None,
        )
        yield _many(
            CounterMetricFamily,
            "dead_letters",
            "Dead letters stored, by topic and kind of reason.",
            ("topic", "reason"),
            s.dead_letters,
        )
        yield _many(
            CounterMetricFamily,
            "anomalies",
            "Anomalies recorded, by severity and metric.",
            ("severity", "metric"),
            s.anomalies,
        )
        yield _many(
            GaugeMetricFamily,
            "incidents",
            "Incidents now in each status (open, resolved), by severity; their sum is every "
            "incident ever opened.",
            ("status", "severity"),
            s.incidents,
        )
        yield _many(
            CounterMetricFamily,
            "alerts",
            "Incidents whose alert was posted, by severity.",
            ("severity",),
            s.alerts,
        )
        yield _many(
            GaugeMetricFamily,
            "deliveries",
            "Outbox rows (messages to customers) now in each status (pending, sent, suppressed, "
            "dead, cancelled), by channel.",
            ("channel", "status"),
            s.deliveries,
        )
        yield _many(
            GaugeMetricFamily,
            "delivery_attempts",
            "Send attempts recorded on the outbox rows held now, retries included, by channel; "
            "falls when retention deletes old rows, so read its increase with clamp_min(delta()).",
            ("channel",),
            s.delivery_attempts,
        )


PREFIX = "crisismon_cluster_"
WHOLE_CLUSTER = " Whole cluster, from SQL: every worker reports the same value."

Family = type[CounterMetricFamily] | type[GaugeMetricFamily]


def _meta(name: str, doc: str, value: float) -> GaugeMetricFamily:
    """About the read itself: ``crisismon_cluster_metrics_<name>``, per worker."""
    return GaugeMetricFamily(f"{PREFIX}metrics_{name}", doc, value=float(value))


def _one(family: Family, name: str, doc: str, value: int | None) -> Metric:
    """One unlabelled figure; no sample when ``value`` is None (not read yet)."""
    return family(PREFIX + name, doc + WHOLE_CLUSTER, value=value)


def _many(
    family: Family,
    name: str,
    doc: str,
    labels: tuple[str, ...],
    values: Labelled,
) -> Metric:
    metric = family(PREFIX + name, doc + WHOLE_CLUSTER, labels=list(labels))
    for label_values, value in sorted(values.items()):
        metric.add_metric(list(label_values), value)
    return metric
