"""The alert-latency bench's bookkeeping: its config copy, and which alert belongs to which burst.
(The bench itself runs the service live; its timings are measured, never asserted.)"""

from __future__ import annotations

from pathlib import Path

from bench.alert_latency_results import match_alerts, percentile
from bench.alert_latency_service import SLACK_CHANNEL, SlackPost, bench_config
from bench.alert_latency_traffic import TIMESCALE, Burst
from detectors.config import load_detection_config
from detectors.topics import load_topics
from monitor.settings import shipped_config_dir


def _alert(received: float, text: str) -> SlackPost:
    return SlackPost(
        received,
        {"channel": SLACK_CHANNEL, "text": text, "blocks": [{"type": "header", "text": {}}]},
    )


def test_config_copy_is_valid_and_changes_only_the_time_scale(tmp_path: Path) -> None:
    config_dir = bench_config(tmp_path / "config")
    config = load_detection_config(config_dir / "detection.yaml")
    shipped = load_detection_config(shipped_config_dir() / "detection.yaml")
    assert config.window_seconds == TIMESCALE["window_seconds"]
    assert config.detector.spike_span_windows == 1
    assert config.incidents.merge_gap_seconds == 0
    # What is not part of the time scale stays as shipped, the alert gather pause included.
    assert config.incidents.alert_gather_seconds == shipped.incidents.alert_gather_seconds
    assert config.terms == shipped.terms
    assert config.detector.alert_score == shipped.detector.alert_score
    topics = load_topics(config_dir / "topics.yaml")
    assert topics.products_in("no name here", product="bp07") == ("bp07",)
    assert set(load_topics(shipped_config_dir() / "topics.yaml").topic_names) <= set(
        topics.topic_names
    )


def test_each_burst_gets_the_first_alert_naming_its_product_after_it_was_sent() -> None:
    bursts = [
        Burst(0, "bp00", 100.0, event_time=100.3),  # window 100, deadline 102
        Burst(1, "bp01", 105.0, event_time=105.3),  # window 105, deadline 107
        Burst(2, "bp02", 110.0, event_time=110.3),  # never alerted
        Burst(3, "bp03", 115.0),  # never sent
    ]
    alerts = [
        _alert(99.0, "Volume spike on product:bp01 (before its burst: not its alert)"),
        _alert(104.5, "Incident #1 · series: global, product:bp00"),
        _alert(109.0, "Incident #2 · series: global, source:bench, product:bp01, product:bp02"),
        _alert(111.0, "Incident #3 · series: global"),
        _alert(112.0, "Incident #4 · series: product:bp01"),
    ]
    outcomes, stray = match_alerts(bursts, alerts)
    # bp02 was named only before its burst was sent: not alerted, like the burst never sent.
    assert [o.latency for o in outcomes] == [2.5, 2.0, None, None]
    assert [o.shared_with for o in outcomes] == [(), ("bp02",), (), ()]
    assert [a.received for a in stray] == [111.0]


def test_only_incident_alerts_in_the_alert_channel_count() -> None:
    playbook = SlackPost(1.0, {"channel": "#billing-team", "text": "product:bp00", "blocks": []})
    no_header = SlackPost(1.0, {"channel": SLACK_CHANNEL, "text": "product:bp00"})
    assert not playbook.is_alert and not no_header.is_alert
    assert _alert(1.0, "product:bp00").is_alert


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 51)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        25.0,
        48.0,
        50.0,
    )
    assert percentile([], 50) is None


def test_an_alert_that_names_no_product_is_matched_through_its_incident() -> None:
    bursts = [Burst(0, "bp00", 100.0, event_time=100.3)]
    alerts = [_alert(104.0, "Incident #7 · series: global, source:bench")]
    outcomes, stray = match_alerts(bursts, alerts, {7: {"bp00"}})
    assert (outcomes[0].latency, outcomes[0].named, stray) == (2.0, False, [])
    outcomes, stray = match_alerts(bursts, alerts)
    assert (outcomes[0].latency, len(stray)) == (None, 1)
