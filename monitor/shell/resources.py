"""Process-wide resources the agents share, created on first use from the settings."""

from __future__ import annotations

import os
import threading
from functools import lru_cache

from sqlalchemy import Engine

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, load_detection_config
from detectors.detect_process import DetectProcess, DetectStage, InThread
from detectors.dimensions import DimensionSeries, SqlAdmission, load_dimensions
from detectors.sentiment import CustomerServiceScorer, build_scorer
from detectors.sentiment.corrections import CorrectionFollower
from detectors.sentiment.labels import LabelFollower
from detectors.series import FanOut
from detectors.topics import load_topics
from monitor.incidents.notifiers import Notifier, build_notifier
from monitor.logs import logging_config
from monitor.privacy import Privacy
from monitor.settings import get_settings
from monitor.storage.db import make_engine
from streams.scoring import BatchScorer, InProcessScorer, ScoringPool
from streams.sources import WebhookSource
from streams.sources.config import (
    SourcesConfig,
    build_polled,
    build_webhooks,
    load_sources_config,
)
from streams.sources.polling import PolledSource


@lru_cache(maxsize=1)
def engine() -> Engine:
    return make_engine(get_settings().resolved_database_url)


@lru_cache(maxsize=1)
def detection_config() -> DetectionConfig:
    return load_detection_config(get_settings().config_dir / "detection.yaml")


@lru_cache(maxsize=1)
def privacy() -> Privacy:
    return get_settings().privacy


@lru_cache(maxsize=1)
def sources_config() -> SourcesConfig:
    return load_sources_config(get_settings().config_dir / "sources.yaml")


@lru_cache(maxsize=1)
def webhook_sources() -> dict[str, WebhookSource]:
    """The configured webhook sources by name, with their secrets from the environment."""
    return build_webhooks(
        sources_config(), env=os.environ, can_pseudonymise=privacy().can_pseudonymise
    )


@lru_cache(maxsize=1)
def polled_sources() -> list[PolledSource]:
    """The configured feeds and pollers, which the leader worker polls on a timer."""
    return build_polled(
        sources_config(), can_pseudonymise=privacy().can_pseudonymise, env=os.environ
    )


# Fitting the taught layer can take seconds, so the scorer is first built in a thread; two
# threads asking at once must get the same scorer, not one each.
_scorer_lock = threading.Lock()


def scorer() -> CustomerServiceScorer:
    """The default scorer; it has been taught every stored label and has learnt every staff
    correction recorded so far. The first call builds it: make it off the event loop."""
    with _scorer_lock:
        return _built_scorer()


@lru_cache(maxsize=1)
def _built_scorer() -> CustomerServiceScorer:
    settings = get_settings()
    built = build_scorer(settings.config_dir, settings.sentiment_model)
    label_follower().apply_new(engine(), built)
    correction_follower().apply_new(engine(), built)
    return built


@lru_cache(maxsize=1)
def scoring_pool() -> BatchScorer:
    """Where ingest scores sentiment: worker processes on a machine with several cores."""
    settings = get_settings()
    processes = settings.resolved_scoring_processes
    if processes == 0:
        return InProcessScorer(scorer())
    return ScoringPool(
        processes,
        config_dir=settings.config_dir,
        model_path=settings.sentiment_model,
        database_url=settings.resolved_database_url,
        fallback=scorer(),
        log_config=logging_config(settings),
    )


@lru_cache(maxsize=1)
def correction_follower() -> CorrectionFollower:
    return CorrectionFollower()


@lru_cache(maxsize=1)
def label_follower() -> LabelFollower:
    return LabelFollower()


@lru_cache(maxsize=1)
def detect_stage() -> DetectStage:
    """Where windows are closed: a process of its own on a machine with several cores."""
    settings = get_settings()
    if not settings.resolved_detect_process:
        return InThread(SeriesDetectors(engine(), detection_config()))
    return DetectProcess(
        database_url=settings.resolved_database_url,
        detection_yaml=settings.config_dir / "detection.yaml",
        log_config=logging_config(settings),
    )


@lru_cache(maxsize=1)
def notifier() -> Notifier:
    return build_notifier(get_settings())


@lru_cache(maxsize=1)
def fan_out() -> FanOut:
    """Topics from topics.yaml, customers' segments from segments.yaml, dimensions from
    dimensions.yaml (admitted values in SQL, shared by all workers); a bad file fails here."""
    from playbooks.attribution import CustomerSegments
    from playbooks.segments import load_segments

    settings = get_settings()
    topics = load_topics(settings.config_dir / "topics.yaml")
    dimensions = DimensionSeries(
        load_dimensions(settings.config_dir / "dimensions.yaml"), SqlAdmission(engine())
    )
    path = settings.config_dir / "segments.yaml"
    if not path.exists():
        return FanOut(topics, dimensions=dimensions)
    lookup = CustomerSegments(engine(), load_segments(path), privacy().pseudonymiser)
    return FanOut(topics, lookup, dimensions)
