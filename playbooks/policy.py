"""What may be sent, checked before every send: consent, opt-out, frequency cap, quiet hours.

>>> from datetime import datetime, UTC
>>> config = SendingConfig()
>>> late = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)
>>> decide(consent_granted=True, consent_revoked=False, sent_recently=0, critical=False,
...        timezone="Europe/London", now=late, config=config).kind
'defer'
>>> decide(consent_granted=True, consent_revoked=False, sent_recently=2, critical=True,
...        timezone="UTC", now=late, config=config).reason
'frequency cap: 2 messages in 24 h already'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from monitor.yamlfile import load


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FrequencyCap(Strict):
    max_messages: int = Field(default=2, ge=1)
    per_hours: float = Field(default=24, gt=0)


class QuietHours(Strict):
    start: time = time(21, 0)
    end: time = time(8, 0)


class Retries(Strict):
    max_attempts: int = Field(default=5, ge=1)
    base_seconds: float = Field(default=2, gt=0)
    max_seconds: float = Field(default=300, gt=0)


class SendingConfig(Strict):
    frequency_cap: FrequencyCap = Field(default_factory=FrequencyCap)
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    retries: Retries = Field(default_factory=Retries)


def load_sending(path: Path) -> SendingConfig:
    """``sending.yaml``, or the documented defaults when the config folder has none."""
    if not path.exists():
        return SendingConfig()
    return load(path).validate(SendingConfig)


@dataclass(frozen=True)
class Decision:
    kind: Literal["send", "suppress", "defer"]
    reason: str = ""
    until: datetime | None = None


def decide(
    *,
    consent_granted: bool,
    consent_revoked: bool,
    sent_recently: int,
    critical: bool,
    timezone: str,
    now: datetime,
    config: SendingConfig,
    channel: str = "this channel",
) -> Decision:
    """The verdict for one message to one customer now."""
    if consent_revoked:
        return Decision("suppress", f"opted out of {channel}")
    if not consent_granted:
        return Decision("suppress", f"no consent for {channel}")
    cap = config.frequency_cap
    if sent_recently >= cap.max_messages:
        return Decision(
            "suppress",
            f"frequency cap: {sent_recently} messages in {cap.per_hours:g} h already",
        )
    if not critical and config.quiet_hours is not None:
        until = quiet_until(now, timezone, config.quiet_hours)
        if until is not None:
            return Decision("defer", f"quiet hours in {timezone}", until)
    return Decision("send")


def quiet_until(now: datetime, timezone: str, quiet: QuietHours) -> datetime | None:
    """When the quiet hours around ``now`` end in ``timezone``, or None outside them."""
    local = now.astimezone(ZoneInfo(timezone))
    t = local.time()
    if quiet.start <= quiet.end:
        inside = quiet.start <= t < quiet.end
    else:  # spans midnight
        inside = t >= quiet.start or t < quiet.end
    if not inside:
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


def backoff(attempt: int, retries: Retries, rng: random.Random | None = None) -> float:
    """Seconds before retry ``attempt`` (1-based): exponential, capped, with full jitter.

    >>> backoff(3, Retries(base_seconds=2), random.Random(1)) <= 8
    True
    """
    ceiling = min(retries.max_seconds, retries.base_seconds * 2 ** (attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)
