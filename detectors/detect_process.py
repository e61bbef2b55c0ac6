"""The detect stage in a process of its own, so that closing windows and ingesting mentions use
two cores instead of taking turns on one.

A worker is one Python process, and only one of its threads runs Python at a time. Closing
windows (scoring, learning, the SQL of a pass) costs about as much CPU as ingest in a replay, so
the two halved each other's speed. `DetectProcess` keeps `SeriesDetectors` in a child process
and offers the same calls, asynchronously; the child holds the state, the worker keeps only the
earliest live deadline, which every answer brings back. The detect agent awaits the child, so
records are still handled one pass at a time and in order. If the child dies, the next call
fails, the agent stops with the error, and the worker restarts from SQL like any crash.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from detectors.close_batch import DetectedAnomaly
from detectors.closing import SeriesDetectors
from detectors.config import load_detection_config
from monitor.processes import start_pool_child
from monitor.storage.db import make_engine

Touched = list[tuple[str, datetime]]
Answer = tuple[list[DetectedAnomaly], datetime | None]


class DetectStage(Protocol):
    """What the detect agent and the live check call: in this process or in a child."""

    async def on_batch(
        self, partition: int | None, touched: Touched, watermark: datetime, observed_at: datetime
    ) -> list[DetectedAnomaly]: ...

    async def advance_live(self, now: datetime) -> list[DetectedAnomaly]: ...

    async def forget_partitions(self, partitions: Iterable[int]) -> None: ...

    async def forget_erased_words(self, *, at_most: float) -> int: ...

    def next_deadline(self) -> datetime | None: ...


class InThread:
    """`SeriesDetectors` in this process, called from a thread (one-core machines, tests)."""

    def __init__(self, detectors: SeriesDetectors) -> None:
        self.detectors = detectors

    async def on_batch(
        self, partition: int | None, touched: Touched, watermark: datetime, observed_at: datetime
    ) -> list[DetectedAnomaly]:
        return await asyncio.to_thread(
            self.detectors.on_batch, partition, touched, watermark, observed_at
        )

    async def advance_live(self, now: datetime) -> list[DetectedAnomaly]:
        return await asyncio.to_thread(self.detectors.advance_live, now)

    async def forget_partitions(self, partitions: Iterable[int]) -> None:
        self.detectors.forget_partitions(partitions)

    async def forget_erased_words(self, *, at_most: float) -> int:
        return await asyncio.to_thread(self.detectors.forget_erased_words, at_most=at_most)

    def next_deadline(self) -> datetime | None:
        return self.detectors.next_deadline()


class DetectProcess:
    """`SeriesDetectors` in a child process (started with ``spawn``: forking a process that runs
    Kafka clients and threads is unsafe)."""

    def __init__(
        self,
        *,
        database_url: str,
        detection_yaml: Path,
        log_config: dict[str, Any] | None = None,
    ) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(os.getpid(), database_url, detection_yaml, log_config),
        )
        self._deadline: datetime | None = None
        # Start the child now, not on the first batch: its imports take seconds, which belong
        # to the worker's start, before it says it is ready.
        self._pool.submit(_ready).result()

    async def on_batch(
        self, partition: int | None, touched: Touched, watermark: datetime, observed_at: datetime
    ) -> list[DetectedAnomaly]:
        return await self._call(_on_batch, partition, touched, watermark, observed_at)

    async def advance_live(self, now: datetime) -> list[DetectedAnomaly]:
        return await self._call(_advance_live, now)

    async def forget_partitions(self, partitions: Iterable[int]) -> None:
        await self._call(_forget_partitions, list(partitions))

    async def forget_erased_words(self, *, at_most: float) -> int:
        future: Future[int] = self._pool.submit(_forget_erased_words, at_most)
        return await asyncio.wrap_future(future)

    def next_deadline(self) -> datetime | None:
        """The earliest live deadline as of the child's last answer."""
        return self._deadline

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _call(self, function: Callable[..., Answer], *args: object) -> list[DetectedAnomaly]:
        future: Future[Answer] = self._pool.submit(function, *args)
        found, self._deadline = await asyncio.wrap_future(future)
        return found


_detectors: SeriesDetectors | None = None


def _start(
    parent_pid: int, database_url: str, detection_yaml: Path, log_config: dict[str, Any] | None
) -> None:
    global _detectors
    start_pool_child(parent_pid, log_config)
    _detectors = SeriesDetectors(make_engine(database_url), load_detection_config(detection_yaml))


def _ready() -> None:
    _child()


def _child() -> SeriesDetectors:
    if _detectors is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("detect process was not initialised")
    return _detectors


def _on_batch(
    partition: int | None, touched: Touched, watermark: datetime, observed_at: datetime
) -> Answer:
    found = _child().on_batch(partition, touched, watermark, observed_at)
    return found, _child().next_deadline()


def _advance_live(now: datetime) -> Answer:
    found = _child().advance_live(now)
    return found, _child().next_deadline()


def _forget_erased_words(at_most: float) -> int:
    return _child().forget_erased_words(at_most=at_most)


def _forget_partitions(partitions: list[int]) -> Answer:
    _child().forget_partitions(partitions)
    return [], _child().next_deadline()
