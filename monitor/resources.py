"""Process-wide resources the agents share, created on first use from the settings."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, load_detection_config
from detectors.sentiment import CustomerServiceScorer, build_scorer
from detectors.sentiment.corrections import CorrectionFollower
from monitor.notifiers import Notifier, build_notifier
from monitor.settings import get_settings
from monitor.storage.db import make_engine


@lru_cache(maxsize=1)
def engine() -> Engine:
    return make_engine(get_settings().resolved_database_url)


@lru_cache(maxsize=1)
def detection_config() -> DetectionConfig:
    return load_detection_config(get_settings().config_dir / "detection.yaml")


@lru_cache(maxsize=1)
def scorer() -> CustomerServiceScorer:
    """The default scorer; it has learnt every staff correction recorded so far."""
    settings = get_settings()
    built = build_scorer(settings.config_dir, settings.sentiment_model)
    correction_follower().apply_new(engine(), built)
    return built


@lru_cache(maxsize=1)
def correction_follower() -> CorrectionFollower:
    return CorrectionFollower()


@lru_cache(maxsize=1)
def series_detectors() -> SeriesDetectors:
    return SeriesDetectors(engine(), detection_config())


@lru_cache(maxsize=1)
def notifier() -> Notifier:
    return build_notifier(get_settings())
