"""Tumbling event-time windows and what one batch adds to each (series, window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.windows import Counted, aggregate, window_start, window_starts_between

T = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "seconds", "expected"),
    [
        (T, 60, T),
        (T + timedelta(seconds=59, microseconds=999_999), 60, T),
        (T + timedelta(seconds=60), 60, T + timedelta(seconds=60)),
        (T + timedelta(minutes=7, seconds=30), 300, T + timedelta(minutes=5)),
        (T + timedelta(minutes=59), 3600, T),
    ],
)
def test_window_start_is_the_aligned_start_of_the_window_containing_the_moment(
    moment, seconds, expected
):
    assert window_start(moment, seconds) == expected


def test_window_start_of_a_non_utc_moment_is_the_same_instant_in_utc():
    cet = timezone(timedelta(hours=1))
    start = window_start(datetime(2026, 1, 5, 11, 0, 42, tzinfo=cet), 60)
    assert start == T
    assert start.tzinfo is UTC


def test_windows_between_include_only_windows_that_have_fully_ended():
    starts = window_starts_between(T, T + timedelta(seconds=180), 60)
    assert starts == [T, T + timedelta(seconds=60), T + timedelta(seconds=120)]
    assert window_starts_between(T, T + timedelta(seconds=59), 60) == []


def test_aggregate_counts_each_mention_once_per_series_and_window():
    first, second = T + timedelta(seconds=5), T + timedelta(seconds=65)
    deltas = aggregate(
        [
            Counted(("global", "source:zendesk"), first, -0.6, True),
            Counted(("global", "source:intercom"), first, 0.4, False),
            Counted(("global", "source:zendesk"), second, -0.2, True),
        ],
        60,
    )
    summary = {key: (d.n, d.n_negative, round(d.sum_compound, 6)) for key, d in deltas.items()}
    assert summary == {
        ("global", T): (2, 1, -0.2),
        ("global", T + timedelta(seconds=60)): (1, 1, -0.2),
        ("source:intercom", T): (1, 0, 0.4),
        ("source:zendesk", T): (1, 1, -0.6),
        ("source:zendesk", T + timedelta(seconds=60)): (1, 1, -0.2),
    }


def test_aggregate_keys_come_out_sorted_whatever_the_input_order():
    items = [
        Counted(("source:b",), T + timedelta(minutes=2), 0.0, False),
        Counted(("global",), T + timedelta(minutes=1), 0.0, False),
        Counted(("source:a",), T, 0.0, False),
        Counted(("global",), T, 0.0, False),
    ]
    keys = list(aggregate(items, 60))
    assert keys == sorted(keys)
    assert keys == list(aggregate(reversed(items), 60))


def test_aggregate_of_nothing_is_empty():
    assert aggregate([], 60) == {}
