"""Dimension series: declared attributes count in ``<dimension>:<value>``, capped per
dimension with the rest in ``<dimension>:other``, admitted the same way on every worker and in
the backtest."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from detectors.backtest import histories_from_mentions
from detectors.config import ConfigError
from detectors.dimensions import (
    Dimension,
    DimensionSeries,
    MemoryAdmission,
    SqlAdmission,
    default_dimensions,
    load_dimensions,
)
from detectors.series import FanOut, series_keys
from monitor.privacy import Privacy
from monitor.settings import shipped_config_dir
from monitor.storage.models import SeriesWindow
from playbooks.attribution import CustomerSegments
from playbooks.customers import CustomerIn, upsert
from playbooks.segments import load_segments
from streams.ingest import ingest_raw_batch
from streams.mentions import MentionIn
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.unit.factories import LATER, SCORER, T0, WINDOW

REGION_2 = (Dimension("region", "region", max_values=2),)
PRIVACY = Privacy.from_key(TEST_PSEUDONYM_KEY)


def mention(n: int, minute: int = 0, *, drill: bool = False, **attributes: str) -> MentionIn:
    return MentionIn(
        "tickets",
        str(n),
        "Payment declined",
        T0 + timedelta(minutes=minute),
        drill=drill,
        attributes=tuple(sorted(attributes.items())),
    )


def keys(fan: FanOut, mentions: list[MentionIn]) -> list[list[str]]:
    known = fan.attribution(mentions, now=LATER)
    return [[k for k in series_keys(m, known) if "region" in k] for m in mentions]


def test_the_shipped_file_declares_the_defaults():
    assert load_dimensions(shipped_config_dir() / "dimensions.yaml") == default_dimensions()
    assert load_dimensions(Path("/nonexistent/dimensions.yaml")) == default_dimensions()


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("dimensions:\n  region: {max_values: 0}\n", 2, "dimensions.region.max_values"),
        ("dimensions:\n  Region Name: {}\n", 2, "dimensions.Region Name"),
        # A rule over all of them: the line of dimensions: itself.
        ("dimensions:\n  topic: {}\n", 1, "topic is a series kind of its own"),
        ("dimensions:\n  plan: {colour: red}\n", 2, "dimensions.plan.colour"),
    ],
)
def test_a_bad_dimensions_file_is_one_line_naming_the_file_and_key(tmp_path, text, line, reason):
    path = tmp_path / "dimensions.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_dimensions(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: ") and reason in message and "\n" not in message


def test_values_beyond_the_cap_count_in_other_admitted_in_event_time_order():
    fan = FanOut(dimensions=DimensionSeries(REGION_2, MemoryAdmission()))
    # Given out of order: the two earliest values (eu at 0, us at 1) win the two places.
    batch = [mention(1, 2, region="APAC"), mention(2, 0, region="EU"), mention(3, 1, region="us")]
    assert keys(fan, batch) == [["region:other"], ["region:eu"], ["region:us"]]
    # Later batches keep the admitted set; "EU West" is slugged, and new, so other.
    later = [mention(4, 5, region="eu"), mention(5, 5, region="EU West")]
    assert keys(fan, later) == [["region:eu"], ["region:other"]]


def test_an_explicit_values_list_is_the_admitted_set():
    dims = (Dimension("plan", "plan", values=frozenset({"pro", "free"})),)
    fan = FanOut(dimensions=DimensionSeries(dims, MemoryAdmission()))
    known = fan.attribution([mention(1, plan="Team"), mention(2, plan="PRO")], now=LATER)
    assert series_keys(mention(1, plan="Team"), known)[-1] == "plan:other"
    assert series_keys(mention(2, plan="PRO"), known)[-1] == "plan:pro"


def test_a_drill_counts_in_its_twin_but_never_admits_a_value():
    fan = FanOut(dimensions=DimensionSeries(REGION_2, MemoryAdmission()))
    drill = mention(1, drill=True, region="eu")
    known = fan.attribution([drill], now=LATER)
    assert "drill:region:other" in series_keys(drill, known)
    fan.attribution([mention(2, region="eu")], now=LATER)  # real traffic admits eu
    known = fan.attribution([drill], now=LATER)
    assert "drill:region:eu" in series_keys(drill, known)


def test_a_sender_known_segment_joins_the_customer_table_segment(engine: Engine):
    upsert(
        engine,
        customers=[CustomerIn.model_validate({"external_id": "C-1", "plan": "enterprise"})],
        now=T0,
        pseudonymiser=PRIVACY.pseudonymiser,
    )
    config = shipped_config_dir()
    lookup = CustomerSegments(
        engine, load_segments(config / "segments.yaml"), PRIVACY.pseudonymiser
    )
    fan = FanOut(
        segments=lookup, dimensions=DimensionSeries(default_dimensions(), MemoryAdmission())
    )
    vip = MentionIn(
        "tickets",
        "1",
        "Help",
        T0,
        customer_id=PRIVACY.pseudonymiser.pseudonym("customer_id", "C-1"),
        attributes=(("segment", "VIP"),),
    )
    found = series_keys(vip, fan.attribution([vip], now=LATER))
    assert found.count("segment:vip") == 1


def test_workers_share_the_admitted_values_through_sql(engine: Engine):
    first, second = SqlAdmission(engine), SqlAdmission(engine)  # two workers
    worker_a = FanOut(dimensions=DimensionSeries(REGION_2, first))
    worker_b = FanOut(dimensions=DimensionSeries(REGION_2, second))
    assert keys(worker_a, [mention(1, region="eu")]) == [["region:eu"]]
    assert keys(worker_b, [mention(2, region="us"), mention(3, region="eu")]) == [
        ["region:us"],
        ["region:eu"],
    ]
    # Full now: a new value is other on both, and the first worker learns us from SQL.
    assert keys(worker_a, [mention(4, region="apac"), mention(5, region="us")]) == [
        ["region:other"],
        ["region:us"],
    ]
    restarted = FanOut(dimensions=DimensionSeries(REGION_2, SqlAdmission(engine)))
    assert keys(restarted, [mention(6, region="apac"), mention(7, region="eu")]) == [
        ["region:other"],
        ["region:eu"],
    ]


def test_ingest_counts_region_windows_and_other(engine: Engine):
    fan = FanOut(dimensions=DimensionSeries(REGION_2, SqlAdmission(engine)))
    payloads = [
        {"external_id": "1", "region": "EU"},
        {"external_id": "2", "attributes": {"region": "eu"}},
        {"external_id": "3", "region": "us"},
        {"external_id": "4", "region": "br"},
        {"external_id": "5", "region": "jp"},
        {"external_id": "6"},
    ]
    # A second apart: values are admitted in event-time order (ties by mention id).
    records = [
        (0, json.dumps({"source": "tickets", "text": "Hi", "event_time": at.isoformat(), **p}))
        for p, at in zip(payloads, (T0 + timedelta(seconds=i) for i in range(6)), strict=True)
    ]
    ingest_raw_batch(
        engine,
        SCORER,
        [(partition, raw.encode()) for partition, raw in records],
        window_seconds=WINDOW,
        now=LATER,
        fan_out=fan,
    )
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        counts = {r.series: r.n for r in session.execute(select(table)).all()}
    assert counts["region:eu"] == 2 and counts["region:us"] == 1
    assert counts["region:other"] == 2 and counts["global"] == 6


def test_the_backtest_has_the_region_series():
    mentions = [mention(i, i % 30, region="eu" if i % 3 else "us") for i in range(60)]
    mentions.append(mention(100, 31, region="apac"))
    fan = FanOut(dimensions=DimensionSeries(REGION_2, MemoryAdmission()))
    histories = {h.series: h for h in histories_from_mentions(mentions, SCORER, WINDOW, fan)}
    assert {"region:eu", "region:us", "region:other"} <= set(histories)
    assert sum(row[1] for row in histories["region:eu"].rows) == 40
    assert sum(row[1] for row in histories["region:other"].rows) == 1
