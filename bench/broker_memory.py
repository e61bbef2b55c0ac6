"""Broker memory: Tansu's resident memory per record, with and without recycling.

A producer writes small records through the embedded broker while one consumer group reads
and commits them, as the worker does. Every ``sample_every`` records the producer waits for the
group to catch up and reads Tansu's VmRSS. Without a limit, memory grows with every record
(Tansu ignores topic retention); with one, the broker is recycled (`monitor.broker_recycle`)
whenever it passes the limit, and memory stays under it.

Run: ``python -m bench.broker_memory [--records 1000000] [--limit-mb 64]``. Other benchmarks
import `measure`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from monitor.broker import EmbeddedBroker
from monitor.broker_recycle import RecyclePolicy, recycle

TOPIC = "bench.memory"
GROUP = "bench-memory"


def measure(
    records: int = 1_000_000,
    *,
    record_bytes: int = 300,
    partitions: int = 4,
    sample_every: int = 50_000,
    memory_limit_mb: int | None = None,
    warmup: float = 0.2,
) -> dict[str, Any]:
    """Produce and consume ``records`` through a fresh Tansu; memory samples and their slope.

    ``memory_limit_mb`` None: one broker throughout. Otherwise the broker is recycled whenever
    its memory passes the limit at a sample. The slope is fitted to the samples after the first
    ``warmup`` share of the records, in KB of broker memory per 1,000 records.
    """
    return asyncio.run(
        _measure(records, record_bytes, partitions, sample_every, memory_limit_mb, warmup)
    )


class _Group:
    """One consumer in GROUP that reads and commits everything, standing in for the worker."""

    def __init__(self, url: str) -> None:
        self.consumer = AIOKafkaConsumer(
            TOPIC,
            bootstrap_servers=url.removeprefix("kafka://"),
            group_id=GROUP,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=3000,
            heartbeat_interval_ms=500,
            max_poll_records=5000,
        )
        self.consumed = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200)
            if batch:
                self.consumed += sum(len(found) for found in batch.values())
                await self.consumer.commit()

    async def caught_up(self, produced: int) -> None:
        deadline = time.monotonic() + 120.0
        while self.consumed < produced:
            if time.monotonic() > deadline:
                raise RuntimeError(f"consumer stuck at {self.consumed} of {produced} records")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.commit()  # what the cancelled loop read but had not committed
        await self.consumer.stop()


async def _create_topic(url: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=url.removeprefix("kafka://"))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, partitions, 1)])
    finally:
        await admin.close()


async def _measure(
    records: int,
    record_bytes: int,
    partitions: int,
    sample_every: int,
    memory_limit_mb: int | None,
    warmup: float,
) -> dict[str, Any]:
    policy = (
        RecyclePolicy(
            memory_limit_bytes=memory_limit_mb * 1024 * 1024,
            max_age_seconds=0,
            min_interval_seconds=0,
        )
        if memory_limit_mb
        else None
    )
    broker = EmbeddedBroker()
    broker.start()
    payload = b"m" * record_bytes
    samples: list[tuple[int, int]] = [(0, _kb(broker.rss_bytes()))]  # (records, RSS KB)
    recycles: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        await _create_topic(broker.url, partitions)
        group, producer = await _clients(broker.url)
        produced = 0
        while produced < records:
            chunk = min(sample_every, records - produced)
            for i in range(produced, produced + chunk):
                await producer.send(TOPIC, payload, key=str(i).encode(), partition=i % partitions)
            await producer.flush()
            produced += chunk
            await group.caught_up(produced)
            rss = broker.rss_bytes()
            samples.append((produced, _kb(rss)))
            due = policy.reason(rss_bytes=rss, age_seconds=1.0) if policy else None
            if due is not None:
                await producer.stop()
                await group.stop()
                consumed = group.consumed
                outcome = await asyncio.to_thread(recycle, broker)
                broker = outcome.broker
                group, producer = await _clients(broker.url)
                # The carried records were not committed: the new group reads them again.
                group.consumed = consumed - outcome.report.carried
                recycles.append(
                    {
                        "at_records": produced,
                        "before_kb": _kb(outcome.old_rss_bytes),
                        "after_kb": _kb(outcome.new_rss_bytes),
                        "carried": outcome.report.carried,
                        "seconds": round(outcome.report.seconds, 3),
                    }
                )
        await producer.stop()
        await group.stop()
    finally:
        broker.stop()
    elapsed = time.monotonic() - started
    fitted = [(n, kb) for n, kb in samples if n >= warmup * records]
    return {
        "records": records,
        "record_bytes": record_bytes,
        "partitions": partitions,
        "memory_limit_mb": memory_limit_mb,
        "samples": samples,
        "slope_kb_per_1k": round(_slope(fitted) * 1000, 2),
        "peak_kb": max(kb for _n, kb in samples),
        "final_kb": samples[-1][1],
        "recycles": recycles,
        "seconds": round(elapsed, 1),
        "records_per_second": round(records / elapsed),
    }


async def _clients(url: str) -> tuple[_Group, AIOKafkaProducer]:
    group = _Group(url)
    await group.start()
    producer = AIOKafkaProducer(
        bootstrap_servers=url.removeprefix("kafka://"), linger_ms=5, max_batch_size=64 * 1024
    )
    await producer.start()
    return group, producer


def _kb(value: int | None) -> int:
    return 0 if value is None else value // 1024


def _slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of y on x; 0 with fewer than two distinct x.

    >>> _slope([(0, 10), (1000, 20), (2000, 30)])
    0.01
    """
    if len({x for x, _y in points}) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _y in points) / n
    mean_y = sum(y for _x, y in points) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
    var = sum((x - mean_x) ** 2 for x, _y in points)
    return cov / var


def _report(result: dict[str, Any]) -> None:
    limit = result["memory_limit_mb"]
    print(
        f"{'no limit' if limit is None else f'limit {limit} MB'}: {result['records']:,} records "
        f"of {result['record_bytes']} B in {result['seconds']}s "
        f"({result['records_per_second']:,}/s produced and consumed)"
    )
    print(
        f"  broker memory: slope {result['slope_kb_per_1k']} KB per 1k records after warm-up, "
        f"peak {result['peak_kb'] / 1024:.0f} MB, at the end {result['final_kb'] / 1024:.0f} MB"
    )
    for r in result["recycles"]:
        print(
            f"  recycled at {r['at_records']:,} records: {r['before_kb'] / 1024:.0f} → "
            f"{r['after_kb'] / 1024:.0f} MB, {r['carried']} records carried, {r['seconds']}s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--record-bytes", type=int, default=300)
    parser.add_argument("--sample-every", type=int, default=50_000)
    parser.add_argument(
        "--limit-mb", type=int, default=64, help="broker memory limit of the second run"
    )
    args = parser.parse_args()
    for limit in (None, args.limit_mb):
        _report(
            measure(
                args.records,
                record_bytes=args.record_bytes,
                sample_every=args.sample_every,
                memory_limit_mb=limit,
            )
        )


if __name__ == "__main__":
    main()
