"""Sentiment and near-duplicate signatures for a batch, scored in worker processes.

Scoring is most of ingest's CPU (about 0.25 ms a mention against 0.1 ms for everything else),
and one Python process runs one core at a time. `ScoringPool` hands each batch's texts to
processes of their own, each with its own scorer that follows staff corrections and taught
labels from SQL as the worker's scorer does, so a worker's ingest uses every core while its
event loop stays free. Results come back in order, and scoring is a pure function of the text,
the language, the labels taught and the corrections learnt, so where it runs changes nothing
stored.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from detectors.sentiment import Scorer, Sentiment
from detectors.sentiment.corrections import CorrectionFollower
from detectors.sentiment.labels import LabelFollower
from detectors.sentiment.scorer import CustomerServiceScorer, build_scorer
from monitor.processes import start_pool_child
from monitor.storage.db import make_engine
from streams.fingerprints import Fingerprint, signature

# How often a scoring process looks for new staff corrections (as the worker's timer does).
_CORRECTIONS_POLL_SECONDS = 5.0
# Fewer texts than this are scored in the calling process: a round trip costs more.
_MIN_PARALLEL = 64

Scored = tuple[Sentiment, Fingerprint | None]


class BatchScorer(Protocol):
    """Scores texts (with their declared language, if any) in order."""

    def score_many(self, items: Sequence[tuple[str, str | None]]) -> list[Scored]: ...


class InProcessScorer:
    """Scores in the calling thread: tests, the CLI, one-core machines."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    def score_many(self, items: Sequence[tuple[str, str | None]]) -> list[Scored]:
        return [(self.scorer.score(text, lang), signature(text)) for text, lang in items]


class ScoringPool:
    """Scores in ``processes`` worker processes, started with ``spawn`` (forking a process
    that runs Kafka clients and threads is unsafe)."""

    def __init__(
        self,
        processes: int,
        *,
        config_dir: Path,
        model_path: Path | None,
        database_url: str,
        fallback: CustomerServiceScorer,
        log_config: dict[str, Any] | None = None,
    ) -> None:
        self.processes = processes
        self._fallback = InProcessScorer(fallback)
        self._pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_scorer,
            initargs=(os.getpid(), config_dir, model_path, database_url, log_config),
        )

    def score_many(self, items: Sequence[tuple[str, str | None]]) -> list[Scored]:
        if len(items) < _MIN_PARALLEL:
            return self._fallback.score_many(items)
        size = -(-len(items) // self.processes)
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        results: list[Scored] = []
        for part in self._pool.map(_score_chunk, chunks):
            results.extend(part)
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _ProcessScorer:
    """A scoring process's own scorer, and the corrections and labels it has learnt so far."""

    def __init__(self, scorer: CustomerServiceScorer, engine: Engine) -> None:
        self.scorer = scorer
        self.engine = engine
        self.follower = CorrectionFollower()
        self.labels = LabelFollower()
        self.polled = 0.0
        self._refit: threading.Thread | None = None
        self._refit_labels()  # before the first text: a restarted process rebuilds the layer

    def follow(self) -> None:
        now = time.monotonic()
        if now - self.polled >= _CORRECTIONS_POLL_SECONDS:
            self.follower.apply_new(self.engine, self.scorer)
            # Refitting takes seconds: in a thread, so this chunk is scored meanwhile.
            if self._refit is None or not self._refit.is_alive():
                self._refit = threading.Thread(target=self._refit_labels, daemon=True)
                self._refit.start()
            self.polled = now

    def _refit_labels(self) -> None:
        try:
            self.labels.apply_new(self.engine, self.scorer)
        except Exception:  # a database outage: the next poll tries again
            logging.getLogger(__name__).exception("could not refit the taught sentiment layer")


_process_scorer: _ProcessScorer | None = None


def _start_scorer(
    parent_pid: int,
    config_dir: Path,
    model_path: Path | None,
    database_url: str,
    log_config: dict[str, Any] | None,
) -> None:
    global _process_scorer
    start_pool_child(parent_pid, log_config)
    _process_scorer = _ProcessScorer(
        build_scorer(config_dir, model_path), make_engine(database_url)
    )


def _score_chunk(items: list[tuple[str, str | None]]) -> list[Scored]:
    if _process_scorer is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("scoring process was not initialised")
    _process_scorer.follow()
    return [(_process_scorer.scorer.score(text, lang), signature(text)) for text, lang in items]
