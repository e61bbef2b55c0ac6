"""The reference every pipeline figure is divided by: a Faust pass-through agent on the same broker.

A separate Faust app (its own app id and consumer group, in its own process so it shares no
event loop with crisismon's worker) with one agent that reads topic A and sends each value to
topic B, nothing else. Its Faust settings are those of `monitor.app.create_app` (a unit test
keeps them in step), and A and B are raw-bytes topics with as many partitions as
``mentions.raw``, as crisismon's ingest agent reads.

`measure` pre-produces the N mention payloads to A (the bytes replay publishes, one mention
per record, keyed by mention id), starts the agent, and times from the first record the agent
consumes until N records are in B (counted by an aiokafka consumer on B). Faust's start-up and
group join are not in the time.

Run alone: ``python -m bench.passthrough [N]`` (starts its own embedded broker).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from monitor.kafka_probe import parse_bootstrap
from monitor.processes import spawn_tied, stop_process
from monitor.settings import Settings

_IN_FLIGHT = 2000


def faust_settings(
    settings: Settings, *, broker_url: str, web_port: int, datadir: Path
) -> dict[str, Any]:
    """The keyword arguments `monitor.app.create_app` gives `faust.App`, for this broker."""
    from monitor.app import faust_options

    return faust_options(settings, broker_url=broker_url, web_port=web_port, datadir=datadir)


def build_app(
    app_id: str,
    *,
    source: str,
    sink: str,
    marker: Path,
    settings: Settings,
    broker_url: str,
    web_port: int,
    datadir: Path,
) -> faust.App:
    """The reference app: one agent, A to B. ``marker`` receives the time of the first record."""
    app = faust.App(
        app_id,
        **faust_settings(settings, broker_url=broker_url, web_port=web_port, datadir=datadir),
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    topic_a = app.topic(source, **raw)
    topic_b = app.topic(sink, **raw)

    @app.agent(topic_a)
    async def pass_through(stream):  # type: ignore[no-untyped-def]
        first = True
        async for value in stream:
            if first:  # one timestamp, so Faust's start-up stays out of the measured time
                marker.write_text(repr(time.monotonic()))  # noqa: ASYNC240 (once)
                first = False
            await topic_b.send(value=value)

    return app


def _serve(spec: dict[str, Any]) -> None:
    """The child process: run the reference app until SIGTERM."""
    import logging

    from faust.worker import Worker

    settings = Settings(**spec["settings"])
    app = build_app(
        spec["app_id"],
        source=spec["source"],
        sink=spec["sink"],
        marker=Path(spec["marker"]),
        settings=settings,
        broker_url=spec["broker_url"],
        web_port=spec["web_port"],
        datadir=Path(spec["datadir"]),
    )
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


async def _create_topics(servers: list[str], names: Sequence[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
        )
    finally:
        await admin.close()


async def _produce(servers: list[str], topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= _IN_FLIGHT:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _run(
    settings: Settings,
    broker_url: str,
    records: Sequence[tuple[bytes, bytes]],
    workdir: Path,
    limit_s: float,
) -> dict[str, Any]:
    from monitor.shell.service import pick_web_port

    servers = [f"{h}:{p}" for h, p in parse_bootstrap(broker_url)]
    run = uuid.uuid4().hex[:8]
    source, sink = f"passthrough-{run}.a", f"passthrough-{run}.b"
    partitions = settings.topic_partitions
    await _create_topics(servers, [source, sink], partitions)
    await _produce(servers, source, records)

    counter = AIOKafkaConsumer(bootstrap_servers=servers, auto_offset_reset="earliest")
    await counter.start()
    counter.assign([TopicPartition(sink, p) for p in range(partitions)])
    marker = workdir / f"first-{run}"
    spec = {
        "app_id": f"passthrough-{run}",
        "source": source,
        "sink": sink,
        "marker": str(marker),
        "broker_url": broker_url,
        "web_port": pick_web_port(),
        "datadir": str(workdir / f"faust-{run}"),
        "settings": {
            "broker": settings.broker,
            "broker_session_timeout": settings.broker_session_timeout,
            "topic_partitions": settings.topic_partitions,
            "topic_replication": settings.topic_replication,
            "web_host": settings.web_host,
        },
    }
    launched = time.monotonic()
    with (workdir / f"passthrough-{run}.log").open("ab") as log:
        child = spawn_tied(
            [sys.executable, "-m", "bench.passthrough", "--serve", json.dumps(spec)],
            env=dict(os.environ),
            stdout=log,
            stderr=log,
        )
        try:
            seen = 0
            deadline = launched + limit_s
            while seen < len(records):
                batches = await counter.getmany(timeout_ms=200, max_records=10_000)
                seen += sum(len(b) for b in batches.values())
                if child.poll() is not None:
                    raise RuntimeError(f"pass-through agent exited with code {child.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pass-through: {seen} of {len(records)} after {limit_s}s")
            done = time.monotonic()
        finally:
            await counter.stop()
            stop_process(child, grace=20)
    first = float(marker.read_text())
    seconds = done - first
    return {
        "records": len(records),
        "seconds": round(seconds, 3),
        "rate": round(len(records) / seconds, 1),
        "start_to_first_record_s": round(first - launched, 2),
    }


def measure(
    broker_url: str,
    records: Sequence[tuple[bytes, bytes]],
    *,
    settings: Settings | None = None,
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Records per second of the Faust pass-through agent on ``broker_url`` for ``records``
    (key, value): ``{"records", "seconds", "rate", "start_to_first_record_s"}``.

    ``settings`` are the service's (partitions, session timeout); default the embedded ones.
    """
    settings = settings or Settings()
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_run(settings, broker_url, records, Path(tmp), timeout))


def mention_records(
    items: Sequence[dict[str, Any]], settings: Settings
) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs replay would publish for ``items``, one mention per record."""
    from datetime import UTC, datetime

    from streams.mentions import parse_mention

    now = datetime.now(UTC)
    privacy = settings.privacy
    out = []
    for item in items:
        mention = parse_mention(dict(item), now=now, privacy=privacy)
        out.append((mention.mention_id.encode(), mention.to_bytes()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(json.loads(args.serve))
        return

    from bench.common import embedded_service
    from bench.pipeline import mentions

    with embedded_service("passthrough") as service:
        # Only the broker is needed; the worker stays idle, as it does in the e2e bench.
        service.start()
        records = mention_records(mentions(args.n), service.settings)
        result = measure(service.broker_url, records, settings=service.settings)
    print(f"Faust pass-through A -> B: {result['rate']:,.0f} records/s ({result})")


if __name__ == "__main__":
    main()
