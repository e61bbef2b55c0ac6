"""What really happened in a generated stream: the crises to page and the decoys not to."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Crisis kinds, in the order reports list them.
OUTAGE = "outage"
BILLING = "billing-wave"
PAYMENT = "regional-payment"
RECALL = "product-recall"
REVIEW_FORM = "review-form-broken"
PLAN = "plan-problem"
KINDS = (OUTAGE, BILLING, PAYMENT, RECALL, REVIEW_FORM, PLAN)

SYNDICATED = "syndicated-story"
MARKETING = "marketing-day"
DECOY_KINDS = (SYNDICATED, MARKETING)


@dataclass(frozen=True, slots=True)
class Crisis:
    """One crisis: when it began and ended, and which series may rightly page for it.

    ``series`` are patterns: ``source:*`` accepts any source series.
    """

    id: str
    kind: str
    onset: datetime
    end: datetime
    series: tuple[str, ...]
    slice: str  # what it hits, e.g. "region:eu", "global", "plan:enterprise"
    description: str
    local_hour: int  # onset's hour in the local time of the slice (UTC for global crises)
    details: dict[str, Any] = field(default_factory=dict)

    def accepts(self, series: str) -> bool:
        """Whether an alert on ``series`` names the right place.

        >>> c = Crisis("c", OUTAGE, datetime(2026, 1, 1), datetime(2026, 1, 1), ("global",
        ...            "source:*"), "global", "", 0)
        >>> c.accepts("source:tickets"), c.accepts("region:eu")
        (True, False)
        """
        return any(fnmatch.fnmatchcase(series, pattern) for pattern in self.series)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "onset": self.onset.isoformat(),
            "end": self.end.isoformat(),
            "series": list(self.series),
            "slice": self.slice,
            "description": self.description,
            "local_hour": self.local_hour,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Crisis:
        return cls(
            id=data["id"],
            kind=data["kind"],
            onset=datetime.fromisoformat(data["onset"]),
            end=datetime.fromisoformat(data["end"]),
            series=tuple(data["series"]),
            slice=data["slice"],
            description=data["description"],
            local_hour=int(data["local_hour"]),
            details=dict(data.get("details", {})),
        )


@dataclass(frozen=True, slots=True)
class Decoy:
    """Something that looks like news but must not page."""

    id: str
    kind: str
    start: datetime
    end: datetime
    description: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "description": self.description,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decoy:
        return cls(
            id=data["id"],
            kind=data["kind"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            description=data["description"],
            details=dict(data.get("details", {})),
        )
