"""``GET /metrics``: Prometheus metrics in the text exposition format, on every worker.

Three kinds of figures share one registry (`monitor.metrics.REGISTRY`, not the global one):
this process's counters (`monitor.metrics`), the whole cluster's figures read from SQL
(`monitor.shell.cluster_metrics`) and this worker's consumer lag per assigned partition
(`ConsumerLag`). docs/operations.md ("Metrics") lists every metric.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import faust
from faust.types import TP, Message
from faust.web import Request, Response, View
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from monitor.app import app
from monitor.metrics import RECORDS_CONSUMED, REGISTRY, count_logged_errors
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.cluster_metrics import ClusterCollector

log = logging.getLogger(__name__)


def committed_offset(consumer: object, tp: TP) -> int | None:
    """The group's committed offset for ``tp`` as this consumer knows it, None if unknown.

    Faust keeps it per assigned partition (loaded from the broker on assignment, updated on each
    of its commits, dropped on revocation) but has no public getter for it; asking the group
    coordinator instead would cost a broker round trip per partition per scrape.
    """
    offsets = getattr(consumer, "_committed_offset", None)
    if offsets is None:
        return None
    offset = offsets.get(tp)
    return int(offset) if offset is not None else None


class ConsumedRecords(faust.Sensor):
    """A Faust sensor that counts every record the consumer hands to a stream."""

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        RECORDS_CONSUMED.labels(tp.topic).inc()


class ConsumerLag(Collector):
    """``crisismon_consumer_lag``: per assigned partition, records on the broker that this
    worker has not yet processed and committed (end offset minus committed offset)."""

    def __init__(self) -> None:
        self.lag: dict[tuple[str, int], int] = {}

    async def refresh(self) -> None:
        # `crisismon web` runs the app producer-only: no consumer, no partitions, no lag.
        consumer = app.consumer if app.started and not app.producer_only else None
        if consumer is None:
            self.lag = {}
            return
        assigned = sorted(consumer.assignment())
        ends: dict[TP, int | None] = {tp: consumer.highwater(tp) for tp in assigned}
        unknown = [tp for tp, end in ends.items() if end is None]
        if unknown:  # not fetched from yet: ask the broker
            ends.update(await consumer.highwaters(*unknown))
        lag: dict[tuple[str, int], int] = {}
        for tp, end in ends.items():
            if end is None:
                continue
            done = committed_offset(consumer, tp)
            if done is None:  # nothing committed yet: the consumer starts from its position
                done = await consumer.position(tp)
            if done is not None:
                lag[(tp.topic, tp.partition)] = max(0, int(end) - done)
        self.lag = lag

    def collect(self) -> Iterator[Metric]:
        metric = GaugeMetricFamily(
            "crisismon_consumer_lag",
            "Records on the broker not yet processed and committed by this worker, per "
            "assigned partition (end offset minus committed offset).",
            labels=["topic", "partition"],
        )
        for (topic, partition), lag in sorted(self.lag.items()):
            metric.add_metric([topic, str(partition)], lag)
        yield metric


cluster = ClusterCollector(resources.engine)
consumer_lag = ConsumerLag()
REGISTRY.register(cluster)
REGISTRY.register(consumer_lag)
app.sensors.add(ConsumedRecords())


@app.task
async def count_logged_errors_from_start() -> None:
    """Count ERROR lines once the worker's logging is set up (it replaces the root handlers)."""
    count_logged_errors(logging.getLogger())


@page("/metrics", Access.PUBLIC)
class Metrics(View):
    """Prometheus scrape: cluster figures at most `CACHE_SECONDS` old, lag as of now."""

    async def get(self, request: Request) -> Response:
        await cluster.refresh()
        try:
            await consumer_lag.refresh()
        except Exception as exc:  # a rebalance in progress: serve the rest
            log.warning("cannot measure consumer lag: %s", exc)
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return self.bytes(encoder(REGISTRY), headers={"Content-Type": content_type})
