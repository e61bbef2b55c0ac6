"""What every detector reports about one window: a finding per metric, judged against its
baseline. Shared by the count and term-burst detectors, window closing, backtests and the
explanations."""

from __future__ import annotations

from dataclasses import dataclass

VOLUME = "volume"
VOLUME_DROP = "volume_drop"
VOLUME_RECORD = "volume_record"
NEGATIVE_SHARE = "negative_share"
SENTIMENT_SHIFT = "sentiment_shift"
# Slow changes (`detectors.slow_change`): evidence accumulated over hours.
VOLUME_RAMP = "volume_ramp"
NEGATIVE_RAMP = "negative_ramp"
VOLUME_SILENCE = "volume_silence"
SHARE_RISE = "share_rise"
SHARE_FALL = "share_fall"
SENTIMENT_SLIDE = "sentiment_slide"
# Their findings rest on hours of windows by construction: never a lone blip.
SLOW_METRICS = (VOLUME_RAMP, NEGATIVE_RAMP, VOLUME_SILENCE, SHARE_RISE, SHARE_FALL, SENTIMENT_SLIDE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One metric of one window, judged against its baseline."""

    metric: str
    observed: float
    expected: float
    lower: float
    upper: float
    score: float
    support: int  # how many mentions the figure rests on
    windows: int = 1  # how many consecutive windows the figure sums (1: this window alone)
