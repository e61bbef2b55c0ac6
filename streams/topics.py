"""The topics. Names are fixed; `CRISISMON_NAMESPACE` prefixes them to share a cluster."""

from __future__ import annotations

from monitor.app import app
from monitor.settings import get_settings
from streams.records import AnomalyEvent, DeadLetterRecord, IncidentEvent, SeriesTicks

_settings = get_settings()

MENTIONS_RAW = _settings.topic_name("mentions.raw")
SERIES_TICKS = _settings.topic_name("series.ticks")
ANOMALIES = _settings.topic_name("anomalies")
INCIDENTS = _settings.topic_name("incidents")
DEAD_LETTER = _settings.topic_name("dead-letter")

# Keyed by mention id; JSON bytes validated by streams.mentions.
mentions_raw = app.topic(
    MENTIONS_RAW, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
# One record per partition and ingest batch, sent to an explicit partition (detect_partition).
series_ticks = app.topic(SERIES_TICKS, key_type=str, value_type=SeriesTicks)
# One partition: anomalies are rare and the correlator must see them in one order to merge them.
anomalies = app.topic(ANOMALIES, key_type=str, value_type=AnomalyEvent, partitions=1)
incidents = app.topic(INCIDENTS, key_type=str, value_type=IncidentEvent, partitions=1)
dead_letter = app.topic(DEAD_LETTER, key_type=str, value_type=DeadLetterRecord, partitions=1)
