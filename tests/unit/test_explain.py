"""Plain-words explanations: what a support lead reads in the alert."""

from __future__ import annotations

import pytest

from detectors.count_spike import NEGATIVE_SHARE, VOLUME, Finding
from detectors.explain import describe, rarity


@pytest.mark.parametrize(
    ("score", "words"),
    [
        (0.0, "not unusual"),
        (-1.0, "not unusual"),
        (1.0, "about 1 in 10 windows"),
        (2.0, "about 1 in 100 windows"),
        (5.0, "about 1 in 100,000 windows"),
        (5.3, "about 1 in 200,000 windows"),
        (6.0, "about 1 in 1 million windows"),
        (6.5, "about 1 in 3.2 million windows"),
        (9.1, "about 1 in 1.3 billion windows"),
        (12.0, "rarer than 1 in a trillion windows"),
        (50.0, "rarer than 1 in a trillion windows"),
    ],
)
def test_rarity_reads_as_one_in_n_windows_with_two_significant_digits(score, words):
    assert rarity(score) == words


def test_volume_finding_names_observed_expected_range_and_rarity():
    text = describe(Finding(VOLUME, 58, 11.2, 4, 20, 9.1, 58))
    assert text == (
        "58 mentions vs 11.2 expected (usual range 4–20), about 1 in 1.3 billion windows"
    )


def test_negative_share_finding_names_the_counts_behind_the_percentage():
    text = describe(Finding(NEGATIVE_SHARE, 0.6, 0.1, 0.0, 0.24, 7.3, 50))
    assert text == (
        "60% negative (30 of 50 mentions) vs 10% expected (usual range 0%–24%), "
        "about 1 in 20 million windows"
    )
