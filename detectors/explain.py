"""Plain-words explanations of findings, shared by the Slack alert, the CLI and later the dashboard.

>>> rarity(5.3)
'about 1 in 200,000 windows'
>>> from detectors.count_spike import Finding
>>> describe(Finding("volume", 58, 11.2, 4, 20, 9.1, 58))
'58 mentions vs 11.2 expected (usual range 4–20), about 1 in 1.3 billion windows'
>>> describe(RecordFinding("volume_record", 1280, 874, 0, 874, 4.48, 1280, 120, reach=30240))
'1,280 mentions in 2 hours, the most of any 2 hours in 21 days (previous high 874)'
"""

from __future__ import annotations

import math

from detectors.count_spike import (
    NEGATIVE_SHARE,
    SENTIMENT_SHIFT,
    VOLUME,
    VOLUME_DROP,
    Finding,
)
from detectors.findings import (
    NEGATIVE_RAMP,
    SENTIMENT_SLIDE,
    SHARE_FALL,
    SHARE_RISE,
    VOLUME_RAMP,
    VOLUME_RECORD,
    VOLUME_SILENCE,
)
from detectors.records import RecordFinding
from detectors.terms import TERM_BURST, TermCount, TermFinding

METRIC_TITLES = {
    VOLUME: "Mention volume spike",
    VOLUME_DROP: "Mention volume drop",
    NEGATIVE_SHARE: "Negative mentions spike",
    SENTIMENT_SHIFT: "Sentiment shift",
    TERM_BURST: "Term burst",
    VOLUME_RECORD: "Busiest stretch in weeks",
    VOLUME_RAMP: "Mentions rising for hours",
    NEGATIVE_RAMP: "Negative mentions rising for hours",
    VOLUME_SILENCE: "Mentions gone quiet",
    SHARE_RISE: "Slice rising alone",
    SHARE_FALL: "Slice falling alone",
    SENTIMENT_SLIDE: "Sentiment sliding for hours",
}
_SLOW = (VOLUME_RAMP, NEGATIVE_RAMP, VOLUME_SILENCE, SHARE_RISE, SHARE_FALL, SENTIMENT_SLIDE)


def likelihood(score: float) -> str:
    """A slow detector's evidence (log10 of a likelihood ratio) in plain words.

    >>> likelihood(5.3)
    'odds 200,000 to 1 of a change'
    """
    odds = 10.0**score
    for scale, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if odds >= scale:
            return f"odds {_two_digits(odds / scale):g} {word} to 1 of a change"
    return f"odds {int(_two_digits(odds)):,} to 1 of a change"


def describe_slow(finding: Finding, window_seconds: int = 60) -> str:
    """A slow change in plain words: what the stretch held against the slow baseline.

    >>> describe_slow(Finding("volume_ramp", 310, 205.4, float("nan"), float("nan"), 5.2, 310,
    ...                       150))
    '310 mentions in the last 2.5 hours vs 205 expected (+51%), odds 160,000 to 1 of a change'
    >>> share = Finding("share_rise", 0.52, 0.35, float("nan"), float("nan"), 6.0, 900, 90)
    >>> describe_slow(share)  # doctest: +ELLIPSIS
    '52% of all mentions in the last 1.5 hours vs 35% usual at these hours, odds 1 million...'
    """
    span = duration(finding.windows * window_seconds)
    why = likelihood(finding.score)
    if finding.metric in (SHARE_RISE, SHARE_FALL):
        return (
            f"{finding.observed:.0%} of all mentions in the last {span} vs "
            f"{finding.expected:.0%} usual at these hours, {why}"
        )
    if finding.metric == SENTIMENT_SLIDE:
        return (
            f"mean sentiment {finding.observed:+.2f} over {finding.support} mentions in the last "
            f"{span} vs {finding.expected:+.2f} usual, {why}"
        )
    what = "negative mentions" if finding.metric == NEGATIVE_RAMP else "mentions"
    change = finding.observed / finding.expected - 1.0 if finding.expected > 0 else math.inf
    return (
        f"{finding.observed:,.0f} {what} in the last {span} vs {finding.expected:,.0f} expected "
        f"({change:+.0%}), {why}"
    )


def rarity(score: float) -> str:
    """Turn a surprise score (-log10 p) into "about 1 in N windows" with two significant digits."""
    if score <= 0:
        return "not unusual"
    odds = 10.0**score
    if odds >= 1e12:
        return "rarer than 1 in a trillion windows"
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if odds >= scale:
            return f"about 1 in {_two_digits(odds / scale):g} {word} windows"
    return f"about 1 in {int(_two_digits(odds)):,} windows"


def _two_digits(value: float) -> float:
    if value <= 0:
        return value
    magnitude = 10 ** (math.floor(math.log10(value)) - 1)
    return round(value / magnitude) * magnitude


def describe_top_terms(terms: list[TermCount]) -> str:
    """The window's risen terms in plain words.

    >>> describe_top_terms(
    ...     [TermCount("outage", 23, 0.43, 30.0), TermCount("charged twice", 9, 0.02, 9.0)]
    ... )
    '"outage" 23 vs 0.4 usual, "charged twice" 9 vs 0 usual'
    """
    return ", ".join(f'"{t.term}" {t.observed} vs {_usual(t.expected)} usual' for t in terms)


def _usual(expected: float) -> str:
    return "0" if expected < 0.05 else f"{expected:.1f}".removesuffix(".0")


def duration(seconds: float) -> str:
    """A length of time in the largest whole unit.

    >>> duration(300), duration(7200), duration(1.5 * 86400)
    ('5 minutes', '2 hours', '36 hours')
    """
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or unit != "day"):
            count = round(seconds / size, 1)
            return f"{count:g} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def describe_record(finding: RecordFinding, window_seconds: int) -> str:
    """A record in plain words: the span, how far back it reaches, and the previous high."""
    reach = finding.reach * window_seconds
    span = duration(finding.windows * window_seconds)
    return (
        f"{finding.observed:,.0f} mentions in {span}, the most of any {span} in "
        f"{duration(reach)} (previous high {finding.expected:,.0f})"
    )


def describe(finding: Finding, window_seconds: int = 60) -> str:
    if isinstance(finding, TermFinding) and finding.term:
        tested = f"{finding.tested} terms" if finding.tested != 1 else "1 term"
        return (
            f'"{finding.term}" in {finding.observed:g} of {finding.support} mentions vs '
            f"{_usual(finding.expected)} expected (usual range {finding.lower:g}–"
            f"{finding.upper:g}), {rarity(finding.score)} (allowing for the {tested} tested)"
        )
    if isinstance(finding, RecordFinding):
        return describe_record(finding, window_seconds)
    if finding.metric in _SLOW:
        return describe_slow(finding, window_seconds)
    span = f" in the last {finding.windows} windows" if finding.windows > 1 else ""
    if finding.metric == NEGATIVE_SHARE:
        negatives = round(finding.observed * finding.support)
        return (
            f"{finding.observed:.0%} negative ({negatives} of {finding.support} mentions{span}) vs "
            f"{finding.expected:.0%} expected "
            f"(usual range {finding.lower:.0%}–{finding.upper:.0%}), {rarity(finding.score)}"
        )
    if finding.metric == VOLUME_DROP:
        return (
            f"{finding.observed:g} mentions in the last {finding.windows} windows vs "
            f"{finding.expected:.0f} "
            f"expected (usual range {finding.lower:g}–{finding.upper:g}), {rarity(finding.score)}"
        )
    if finding.metric == SENTIMENT_SHIFT:
        return (
            f"mean sentiment {finding.observed:+.2f} over {finding.support} mentions vs "
            f"{finding.expected:+.2f} expected (usual range {finding.lower:+.2f} to "
            f"{finding.upper:+.2f}), {rarity(finding.score)}"
        )
    return (
        f"{finding.observed:g} mentions{span} vs {finding.expected:.1f} expected "
        f"(usual range {finding.lower:g}–{finding.upper:g}), {rarity(finding.score)}"
    )
