"""The slow detectors in live closing, on SQLite and PostgreSQL: a slice is judged against its
parent's count read from SQL, so one source complaining alone is found, and its quiet sibling
is not."""

from __future__ import annotations

from datetime import timedelta

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig, DetectorSettings, SlowSettings
from streams.mentions import MentionIn
from tests.unit.factories import LATER, NEGATIVE, NEUTRAL, STEP, T0, mention, store

ORDINARY_MINUTES = 240
WAVE_MINUTES = 60


def config() -> DetectionConfig:
    # A short warm-up and memory, so that a few hours of minutes are enough for a unit test.
    slow = SlowSettings(warmup_windows=120, half_life_windows=120)
    return DetectionConfig(
        window_seconds=60, detector=DetectorSettings(warmup_windows=10, slow=slow)
    )


def minute(index: int, *, chat: int, tickets: int, angry_tickets: int) -> list[MentionIn]:
    start = T0 + index * STEP
    made = [
        mention(f"c{index}-{k}", at=start + timedelta(seconds=k), source="chat", text=NEUTRAL)
        for k in range(chat)
    ]
    made += [
        mention(
            f"t{index}-{k}",
            at=start + timedelta(seconds=30 + k),
            source="tickets",
            text=NEGATIVE if k < angry_tickets else NEUTRAL,
        )
        for k in range(tickets)
    ]
    return made


def test_a_source_complaining_alone_is_found_against_its_parent_read_from_sql(engine):
    batch: list[MentionIn] = []
    for index in range(ORDINARY_MINUTES):  # chat 6 a minute, tickets 3 (a third of them calm)
        batch += minute(index, chat=6, tickets=3, angry_tickets=index % 3 == 0)
    for index in range(ORDINARY_MINUTES, ORDINARY_MINUTES + WAVE_MINUTES):
        batch += minute(index, chat=6, tickets=9, angry_tickets=7)  # tickets triple, angry
    store(engine, batch)
    detectors = SeriesDetectors(engine, config())
    end = T0 + (ORDINARY_MINUTES + WAVE_MINUTES) * STEP
    found = []
    for series in ("global", "source:chat", "source:tickets"):
        found += detectors.on_touch(series, T0, end, LATER, 0)

    slow = {"share_rise", "negative_ramp", "volume_ramp", "sentiment_slide"}
    on_tickets = [a for a in found if a.series == "source:tickets" and a.metric in slow]
    assert on_tickets, "tickets tripling with complaints while chat stays flat must be found"
    assert {a.metric for a in on_tickets} >= {"share_rise"}, "judged against its parent"
    assert all(a.window_start >= T0 + ORDINARY_MINUTES * STEP for a in on_tickets)
    assert not [a for a in found if a.series == "source:chat" and a.metric in slow]
