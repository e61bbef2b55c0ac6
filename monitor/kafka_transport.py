"""Faust's Kafka transport with a short fetch wait, so a hop costs milliseconds, not a second.

Faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting to change it.
A broker may hold a fetch that has no data for that long; Kafka answers as soon as data arrives,
but the embedded broker (Tansu) answers only when the wait ends. Measured on Tansu: one agent
hop took 0.26–0.67 s with the 1,500 ms wait and 2–47 ms with 100 ms, and an alert crosses two
such hops. Idle, a 100 ms wait costs ten small fetch requests a second per broker connection.

This is the one module that reaches into Faust's aiokafka driver; `CrisisApp` uses it.
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka hands this to its fetcher when the consumer starts, which is after this.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """aiokafka with a 100 ms fetch wait."""

    Consumer = _Consumer
