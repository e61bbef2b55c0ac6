"""Segments from ``config/segments.yaml``, evaluated on the current customer data.

>>> from datetime import datetime, UTC
>>> rules = SegmentRule(lifecycle=["new"])
>>> now = datetime(2026, 1, 31, tzinfo=UTC)
>>> lifecycle_of(signup=datetime(2026, 1, 20, tzinfo=UTC), last_activity=None, now=now,
...              config=LifecycleConfig())
'new'
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.yamlfile import load
from playbooks.models import Customer

Lifecycle = Literal["prospect", "new", "active", "lapsed", "loyal"]


class LifecycleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_days: int = Field(default=30, ge=1)
    lapsed_days: int = Field(default=90, ge=1)
    loyal_days: int = Field(default=730, ge=1)


class SegmentRule(BaseModel):
    """Every key given must hold."""

    model_config = ConfigDict(extra="forbid")

    lifecycle: list[Lifecycle] | None = None
    plan: list[str] | None = None
    region: list[str] | None = None
    locale: list[str] | None = None
    tags_any: list[str] | None = None
    min_lifetime_value: float | None = None
    max_lifetime_value: float | None = None

    def holds(self, customer: Customer, lifecycle: str) -> bool:
        tags = set(customer.tags.split())
        locale = customer.locale.split("-")[0]
        return (
            (self.lifecycle is None or lifecycle in self.lifecycle)
            and (self.plan is None or customer.plan in self.plan)
            and (self.region is None or customer.region in self.region)
            and (self.locale is None or customer.locale in self.locale or locale in self.locale)
            and (self.tags_any is None or bool(tags & set(self.tags_any)))
            and (
                self.min_lifetime_value is None
                or customer.lifetime_value >= self.min_lifetime_value
            )
            and (
                self.max_lifetime_value is None
                or customer.lifetime_value <= self.max_lifetime_value
            )
        )


class Segment(SegmentRule):
    description: str = ""
    any_of: list[SegmentRule] | None = None

    def matches(self, customer: Customer, lifecycle: str) -> bool:
        if not self.holds(customer, lifecycle):
            return False
        return self.any_of is None or any(r.holds(customer, lifecycle) for r in self.any_of)


class SegmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    segments: dict[str, Segment]


@dataclass(frozen=True)
class Segments:
    config: SegmentsFile

    @property
    def names(self) -> list[str]:
        return list(self.config.segments)

    def lifecycle(self, customer: Customer, *, now: datetime) -> str:
        return lifecycle_of(
            signup=customer.signup_date,
            last_activity=customer.last_activity,
            now=now,
            config=self.config.lifecycle,
        )

    def of(self, customer: Customer, *, now: datetime) -> list[str]:
        """Every segment the customer is in right now, in file order."""
        stage = self.lifecycle(customer, now=now)
        return [n for n, s in self.config.segments.items() if s.matches(customer, stage)]

    def first_of(self, customer: Customer, names: list[str], *, now: datetime) -> str | None:
        """The first of ``names`` the customer is in: which copy they get."""
        stage = self.lifecycle(customer, now=now)
        for name in names:
            if self.config.segments[name].matches(customer, stage):
                return name
        return None

    def counts(self, customers: list[Customer], *, now: datetime) -> Counter[str]:
        counts: Counter[str] = Counter()
        for customer in customers:
            counts.update(self.of(customer, now=now))
        return counts


def lifecycle_of(
    *,
    signup: datetime | None,
    last_activity: datetime | None,
    now: datetime,
    config: LifecycleConfig,
) -> str:
    """prospect (never signed up), new, lapsed (inactive), loyal (long and active), else active."""
    if signup is None:
        return "prospect"
    if now - signup < timedelta(days=config.new_days):
        return "new"
    seen = last_activity or signup
    if now - seen > timedelta(days=config.lapsed_days):
        return "lapsed"
    if now - signup > timedelta(days=config.loyal_days):
        return "loyal"
    return "active"


def load_segments(path: Path) -> Segments:
    """Read and validate ``segments.yaml``; errors name the file and line."""
    return Segments(load(path).validate(SegmentsFile))
