"""The rules that merge anomalies into incidents, on plain values: no database, no Faust.

The live correlator (`monitor.incidents.service.correlate`) loads the open incidents from SQL and
asks these functions what to do; the backtest (`monitor.incidents.backtest`) keeps its incidents
in memory in a `Correlator` and asks the same functions. One set of rules, so a backtest and a
live replay of the same file cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from detectors.explain import METRIC_TITLES
from detectors.findings import SLOW_METRICS
from detectors.series import DRILL_PREFIX

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
SEVERITIES = ("info", "warning", "critical")
PAGED = "warning"  # incidents at or above this severity alert a person


@dataclass(frozen=True, slots=True)
class AnomalyFacts:
    """What correlation needs to know of one anomaly."""

    anomaly_id: str
    series: str
    window_start: datetime
    window_end: datetime
    metric: str
    severity: str
    score: float

    @property
    def drill(self) -> bool:
        return self.series.startswith(DRILL_PREFIX)


@dataclass(frozen=True, slots=True)
class IncidentSpan:
    """An incident as placement sees it: its key, the event time its windows cover, and
    whether it is still open."""

    key: int
    first_window_start: datetime
    last_window_end: datetime
    open: bool = True

    def near(self, anomaly: AnomalyFacts, merge_gap: timedelta) -> bool:
        """Within the merge gap of the incident's windows, on either side, in event time."""
        after = anomaly.window_start - self.last_window_end
        before = self.first_window_start - anomaly.window_end
        return after <= merge_gap and before <= merge_gap


@dataclass(frozen=True, slots=True)
class Placement:
    """Which incident an anomaly joins (None: it opens a new one), whether that incident must
    be reopened, and which open incidents it resolves."""

    target: int | None
    resolved: tuple[int, ...]
    reopen: bool = False


def place(
    anomaly: AnomalyFacts, incidents: Iterable[IncidentSpan], merge_gap: timedelta
) -> Placement:
    """Where an anomaly goes among the incidents of its kind (drill or real), oldest first.

    Both bounds, on event time: an anomaly that arrives late (a fast replay, a lagging partition)
    joins only an incident whose windows it is near, never one from days later. An anomaly more
    than the gap after an open incident's last window means that incident has gone quiet:
    resolved. Among several near open incidents the newest wins.

    Resolved incidents are offered only when they may be near (see `may_reopen`): one that an
    anomaly is near was resolved too early (another detect partition ran ahead in a fast
    replay and its anomaly resolved it), so the anomaly reopens it, and the incident comes out
    as it would have with every anomaly in window order.
    """
    target = None
    closed_target = None
    resolved = []
    for incident in incidents:
        if incident.near(anomaly, merge_gap):
            if incident.open:
                target = incident.key
            else:
                closed_target = incident.key
        elif incident.open and anomaly.window_start > incident.last_window_end:
            resolved.append(incident.key)
    if target is None and closed_target is not None:
        return Placement(closed_target, tuple(resolved), reopen=True)
    return Placement(target, tuple(resolved))


def may_reopen(anomaly: AnomalyFacts, merge_gap: timedelta) -> tuple[datetime, datetime]:
    """The bounds a resolved incident's (last window end, first window start) must be within
    (at least, at most) for ``anomaly`` to be near it: what to load besides the open ones."""
    return anomaly.window_start - merge_gap, anomaly.window_end + merge_gap


def grade_incident(
    *, series: Sequence[str], anomalous_windows: int, strongest: str, sustained: bool = False
) -> str:
    """Severity of an incident from what its anomalies say together.

    Independent sources that agree raise it one step; a lone blip (one anomalous window on one
    source, nothing in ``global``) stays ``info``: recorded, shown, but nobody is paged. An
    anomaly of the slow detectors (``sustained``) is never a blip: it rests on hours of windows.

    >>> grade_incident(series=["source:reviews"], anomalous_windows=1, strongest="critical")
    'info'
    >>> grade_incident(series=["source:reviews"], anomalous_windows=3, strongest="warning")
    'warning'
    >>> grade_incident(series=["global", "source:social", "source:tickets"], anomalous_windows=2,
    ...                strongest="warning")
    'critical'
    """
    # A drill's twin series (drill:global, drill:source:x) are graded like the real ones.
    series = [s.removeprefix(DRILL_PREFIX) for s in series]
    sources = {s for s in series if s.startswith("source:")}
    if anomalous_windows <= 1 and "global" not in series and len(sources) <= 1 and not sustained:
        return "info"
    rank = SEVERITY_RANK[strongest]
    if len(sources) >= 2:
        rank = min(rank + 1, SEVERITY_RANK["critical"])
    return SEVERITIES[rank]


def is_paged(severity: str) -> bool:
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[PAGED]


def series_breadth(series: str) -> int:
    """How narrow a series is: global 0, a source, language or reviews 1, any slice 2 (segment,
    topic, product, and the dimensions of config/dimensions.yaml such as region:eu).

    >>> sorted(["region:eu", "topic:billing", "global", "source:social"], key=series_breadth)
    ['global', 'source:social', 'region:eu', 'topic:billing']
    """
    kind = series.removeprefix("drill:").partition(":")[0]
    return {"global": 0, "source": 1, "lang": 1, "reviews": 1}.get(kind, 2)


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric.replace("_", " "))


def title_of(anomaly: AnomalyFacts) -> str:
    """An incident is named after one anomaly: "Mention volume spike on global"."""
    return f"{metric_title(anomaly.metric)} on {anomaly.series}"


def opening_severity(anomaly: AnomalyFacts) -> str:
    return grade_incident(
        series=[anomaly.series],
        anomalous_windows=1,
        strongest=anomaly.severity,
        sustained=anomaly.metric in SLOW_METRICS,
    )


def namer(members: Iterable[AnomalyFacts]) -> AnomalyFacts:
    """The anomaly an incident is named after: the most severe, then the highest score; scores
    are capped, so among equals the broadest series names it: an outage is "… on global", not
    on whichever topic it also touched. Remaining ties go by a fixed order of metrics (volume
    first), then the earliest window, so live and backtest name an incident alike whatever
    order its anomalies are stored in."""
    return min(
        members,
        key=lambda m: (
            -SEVERITY_RANK[m.severity],
            -m.score,
            series_breadth(m.series),
            _METRIC_ORDER.get(m.metric, len(_METRIC_ORDER)),
            m.window_start,
            m.series,
            m.metric,
        ),
    )


_METRIC_ORDER = {metric: rank for rank, metric in enumerate(METRIC_TITLES)}


@dataclass(frozen=True, slots=True)
class Regrade:
    """An incident's severity after a merge, and the anomaly it is now named after when the
    severity rose (None: the name stays)."""

    severity: str
    named: AnomalyFacts | None


def regrade(current: str, series: Sequence[str], members: Sequence[AnomalyFacts]) -> Regrade:
    """Severity only ever goes up while an incident lasts; when it does, the incident is named
    after its strongest anomaly, not the blip that happened to open it."""
    graded = grade_incident(
        series=series,
        anomalous_windows=len({m.window_start for m in members}),
        strongest=max((m.severity for m in members), key=SEVERITY_RANK.__getitem__),
        sustained=any(m.metric in SLOW_METRICS for m in members),
    )
    if SEVERITY_RANK[graded] > SEVERITY_RANK[current]:
        return Regrade(graded, namer(members))
    return Regrade(current, None)


def strongest_first(members: Iterable[AnomalyFacts]) -> list[AnomalyFacts]:
    """Anomalies as an incident's detail lists them: highest score first, and among equal
    (capped) scores the broadest series first."""
    return sorted(members, key=lambda a: (-a.score, series_breadth(a.series), a.anomaly_id))


def series_strongest_first(members: Iterable[AnomalyFacts]) -> list[str]:
    return list(dict.fromkeys(a.series for a in strongest_first(members)))


@dataclass(slots=True)
class MemoryIncident:
    """An incident kept in memory by a `Correlator`."""

    key: int
    members: list[AnomalyFacts]
    series: list[str]  # in the order they joined, as the incidents table keeps them
    severity: str
    named: AnomalyFacts  # the anomaly its title names
    first_window_start: datetime
    last_window_end: datetime
    drill: bool
    # The end of the window whose anomaly made it worth a page (None: never paged).
    paged_at: datetime | None = None
    status: str = "open"

    @property
    def title(self) -> str:
        return title_of(self.named)

    def span(self) -> IncidentSpan:
        return IncidentSpan(
            self.key, self.first_window_start, self.last_window_end, self.status == "open"
        )


@dataclass(slots=True)
class Correlator:
    """The live correlation rules over anomalies fed one by one, in the order live sees them."""

    merge_gap: timedelta
    incidents: list[MemoryIncident] = field(default_factory=list)

    def add(self, anomaly: AnomalyFacts) -> MemoryIncident:
        """Merge one anomaly; returns the incident it joined or opened."""
        kind = [i for i in self.incidents if i.drill == anomaly.drill]
        placement = place(anomaly, (i.span() for i in kind), self.merge_gap)
        by_key = {i.key: i for i in kind}
        for key in placement.resolved:
            by_key[key].status = "resolved"
        if placement.reopen and placement.target is not None:
            by_key[placement.target].status = "open"
        if placement.target is None:
            incident = MemoryIncident(
                key=len(self.incidents) + 1,
                members=[anomaly],
                series=[anomaly.series],
                severity=opening_severity(anomaly),
                named=anomaly,
                first_window_start=anomaly.window_start,
                last_window_end=anomaly.window_end,
                drill=anomaly.drill,
            )
            self.incidents.append(incident)
        else:
            incident = by_key[placement.target]
            incident.members.append(anomaly)
            if anomaly.series not in incident.series:
                incident.series.append(anomaly.series)
            incident.first_window_start = min(incident.first_window_start, anomaly.window_start)
            incident.last_window_end = max(incident.last_window_end, anomaly.window_end)
            regraded = regrade(incident.severity, incident.series, incident.members)
            incident.severity = regraded.severity
            incident.named = regraded.named or incident.named
        if incident.paged_at is None and is_paged(incident.severity):
            incident.paged_at = anomaly.window_end
        return incident
