"""The one `faust.App`. Agents, timers and views register on it from their domain modules.

The settings below come from measurements on the embedded broker (see BROKER-NOTES.md):
Tansu holds every group join for half the session timeout, so Faust's default 60 s session
means a 30 s start; 3 s gives a worker that processes its first message within seconds.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import faust
from faust.types import TransportT

from monitor.kafka_transport import Transport
from monitor.safety_net import input_errors_are_400
from monitor.settings import Settings, get_settings

# Placeholder so that importing the app (to list commands, run unit tests) needs no broker;
# `crisismon worker` refuses to start on it.
_UNRESOLVED_BROKER = "kafka://embedded-broker-not-started:9092"


def faust_broker_url(settings: Settings) -> str:
    if settings.uses_embedded_broker:
        return settings.embedded_broker_url or _UNRESOLVED_BROKER
    return settings.broker


# A worker that is told to stop while the broker is down can hang for minutes in the Kafka
# client and log a million lines (BROKER-NOTES.md). Past this, it exits hard: SQL state is safe
# because every write is one transaction, and the broker redelivers what was not committed.
SHUTDOWN_DEADLINE_SECONDS = 20.0
_EXIT_STOP_TIMEOUT = 70  # EX_SOFTWARE-ish, distinct from a normal stop


class CrisisApp(faust.App):
    """The Faust app with a bounded shutdown and a short consumer fetch wait."""

    def _new_transport(self) -> TransportT:
        # Faust picks the transport by URL scheme; ours is its aiokafka one with a 100 ms fetch
        # wait instead of a hard-coded 1,500 ms (see monitor/kafka_transport.py).
        return Transport(self.conf.broker_consumer, self)

    async def on_stop(self) -> None:
        _arm_shutdown_deadline(SHUTDOWN_DEADLINE_SECONDS)
        await super().on_stop()


def _arm_shutdown_deadline(seconds: float) -> None:
    def _expire() -> None:
        logging.getLogger(__name__).error(
            "worker did not stop within %.0fs (broker unreachable?); exiting hard", seconds
        )
        logging.shutdown()
        os._exit(_EXIT_STOP_TIMEOUT)

    timer = threading.Timer(seconds, _expire)
    timer.daemon = True
    timer.start()


def faust_options(
    settings: Settings, *, broker_url: str, web_port: int, datadir: Path
) -> dict[str, Any]:
    """The keyword arguments every worker gives `faust.App` (the pass-through benchmark's
    reference app takes the same, so the two are measured alike)."""
    return {
        "broker": broker_url,
        "store": "memory://",
        "datadir": str(datadir),
        "autodiscover": False,
        # Our own topics are declared with explicit partitions; records are JSON.
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication,
        "value_serializer": "json",
        # An unreadable record is dead-lettered, not thrown into the agent reading it.
        "Topic": "streams.tolerant_topic.TolerantTopic",
        # Measured on Tansu: fast group joins and rebalances. Kafka needs >= 6 s by default.
        "broker_session_timeout": settings.session_timeout,
        "broker_heartbeat_interval": min(0.5, settings.session_timeout / 6),
        "broker_rebalance_timeout": settings.session_timeout,
        "broker_commit_interval": 1.0,
        "stream_wait_empty": False,
        "table_standby_replicas": 0,
        # Tansu rejects InitProducerId: at-least-once, made exact by SQL idempotency keys.
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": True,
        # Faust's own pages show tables, topology and stats to anyone who can reach the port:
        # off. Our views are in monitor.shell.web and friends.
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_graph_enabled": False,
        "web_stats_enabled": False,
        "web_application_options": {"middlewares": [input_errors_are_400]},
        "web_bind": settings.web_host,
        "web_host": settings.web_host,
        "web_port": web_port,
    }


def create_app(settings: Settings) -> faust.App:
    datadir = Path(settings.data_dir) / "faust" / f"{settings.app_id}-{settings.web_port}"
    datadir.parent.mkdir(parents=True, exist_ok=True)
    options = faust_options(
        settings,
        broker_url=faust_broker_url(settings),
        web_port=settings.web_port,
        datadir=datadir,
    )
    return CrisisApp(settings.app_id, **options)


app = create_app(get_settings())
