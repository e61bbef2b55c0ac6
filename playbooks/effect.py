"""Did our message help? Each messaged segment's negative share and volume around each send.

For an incident whose messages went out, each customer segment that was written to has its
own series (``segment:NAME``, counted from mentions by customers in it). For every send (the
messages of one step to one segment sent together, timed by the first ``sent_at``), the hour
before is compared with the hour after, on closed windows only. Until the hour after has
closed (its last window is past the newest closed window of the segment or of ``global``),
the answer is "too early to tell", not a number.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from monitor.storage.models import Incident, SeriesWindow
from playbooks.event_time import LIVE_HORIZON, from_replay
from playbooks.models import Delivery, Draft
from playbooks.service import STATUS_CHANNEL

HOUR = timedelta(hours=1)
# The chart shows this much before the first send and after the last one.
CHART_MARGIN = timedelta(hours=2)
MAX_POINTS = 5000
# Messages of one step to one segment this close together are one send.
SEND_GAP = timedelta(minutes=10)
COMPARED = "compared"
TOO_EARLY = "too early to tell"
NO_MENTIONS = "no mentions from this segment in either hour"
REPLAYED = "not comparable: the incident came from a replay"


class UnknownIncident(LookupError):
    """No incident has this id."""


@dataclass(frozen=True)
class Span:
    """Mentions of one segment over an hour: volume and the share that was negative."""

    volume: int
    negative: int

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.volume if self.volume else None


@dataclass(frozen=True)
class Send:
    """The messages of one step to one segment, sent in one go."""

    step: str
    channel: str
    messages: int
    sent_at: datetime
    before: Span | None
    after: Span | None
    # compared | too early to tell | no mentions from this segment in either hour | replayed
    verdict: str

    @property
    def share_change(self) -> float | None:
        """After minus before, in share (0.1 = 10 percentage points); None when not compared."""
        if self.before is None or self.after is None:
            return None
        b, a = self.before.negative_share, self.after.negative_share
        return None if a is None or b is None else a - b

    @property
    def volume_change(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return self.after.volume - self.before.volume

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "channel": self.channel,
            "messages": self.messages,
            "sent_at": self.sent_at.isoformat(),
            "before": _span_json(self.before),
            "after": _span_json(self.after),
            "negative_share_change": self.share_change,
            "volume_change": self.volume_change,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Point:
    """One closed window of the segment's series."""

    at: datetime
    volume: int
    negative_share: float | None


@dataclass
class SegmentEffect:
    segment: str
    series: str
    sends: list[Send] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "series": self.series,
            "sends": [s.as_json() for s in self.sends],
            "points": [
                {"at": p.at.isoformat(), "volume": p.volume, "negative_share": p.negative_share}
                for p in self.points
            ],
        }


@dataclass
class Effect:
    incident_id: int
    title: str
    segments: list[SegmentEffect]
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "title": self.title,
            "note": self.note,
            "hour_seconds": int(HOUR.total_seconds()),
            "segments": [s.as_json() for s in self.segments],
        }


def _span_json(span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {**asdict(span), "negative_share": span.negative_share}


def effect_of(
    engine: Engine, *, incident_id: int, now: datetime, live_horizon: timedelta = LIVE_HORIZON
) -> Effect:
    """The effect of every send of the incident, per messaged segment; `UnknownIncident`."""
    with Session(engine) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise UnknownIncident(f"no incident {incident_id}")
        sends = _sends(session, incident_id)
        replayed = from_replay(incident, live_horizon=live_horizon)
        segments: list[SegmentEffect] = []
        for segment, groups in sorted(sends.items()):
            series = f"segment:{segment}"
            found = SegmentEffect(segment=segment, series=series)
            closed_until = _closed_until(session, series)
            for step, channel, sent_at, messages in groups:
                if replayed:
                    found.sends.append(Send(step, channel, messages, sent_at, None, None, REPLAYED))
                    continue
                found.sends.append(
                    _compare(session, series, step, channel, sent_at, messages, closed_until, now)
                )
            first, last = found.sends[0].sent_at, found.sends[-1].sent_at
            found.points = _points(session, series, first - CHART_MARGIN, last + CHART_MARGIN)
            segments.append(found)
        note = ""
        if not sends:
            note = "no message about this incident has been sent to customers yet"
        elif replayed:
            note = (
                "this incident came from a replay: its windows are in event time, its messages "
                "were sent now, so the mentions around a send are not the replayed ones"
            )
        return Effect(incident_id, incident.title, segments, note)


# segment -> its sends: (step, channel, first sent_at, messages), in time order
Sends = dict[str, list[tuple[str, str, datetime, int]]]


def _sends(session: Session, incident_id: int) -> Sends:
    """The sends of each segment. A step's messages to a segment that went out more than
    ``SEND_GAP`` apart (quiet hours hold some back until morning in each time zone, a retry
    comes later) are separate sends, each compared around its own time."""
    drafts = Draft.__table__  # type: ignore[attr-defined]
    deliveries = Delivery.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sql_select(drafts.c.segment, drafts.c.step_id, drafts.c.channel, deliveries.c.sent_at)
        .join_from(deliveries, drafts, drafts.c.id == deliveries.c.draft_id)
        .where(
            drafts.c.incident_id == incident_id,
            deliveries.c.status == "sent",
            deliveries.c.sent_at.is_not(None),
            drafts.c.channel != STATUS_CHANNEL,
        )
        .order_by(deliveries.c.sent_at)
    ).all()
    found: Sends = defaultdict(list)
    last: dict[tuple[str, str, str], tuple[int, datetime]] = {}  # key -> (index, latest)
    for segment, step, channel, sent_at in rows:
        at, key = _aware(sent_at), (str(segment), str(step), str(channel))
        sends = found[key[0]]
        if key in last and at - last[key][1] <= SEND_GAP:
            index = last[key][0]
            step_id, channel_name, first, messages = sends[index]
            sends[index] = (step_id, channel_name, first, messages + 1)
            last[key] = (index, at)
        else:
            sends.append((key[1], key[2], at, 1))
            last[key] = (len(sends) - 1, at)
    return {segment: sorted(sends, key=lambda s: s[2]) for segment, sends in found.items()}


def _aware(value: datetime) -> datetime:
    """An aggregate bypasses the UTC column type on SQLite: make it UTC-aware again."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _closed_until(session: Session, series: str) -> datetime | None:
    """The end of the newest closed window of the segment's series or of ``global``: how far
    the windows are final."""
    newest = session.exec(
        select(SeriesWindow)
        .where(col(SeriesWindow.series).in_([series, "global"]), col(SeriesWindow.closed))
        .order_by(col(SeriesWindow.window_start).desc())
        .limit(1)
    ).first()
    if newest is None:
        return None
    return newest.window_start + timedelta(seconds=newest.window_seconds)


def _span(session: Session, series: str, start: datetime, end: datetime) -> Span:
    """The closed windows lying wholly within [start, end); a window that is not stored had
    no mention from the segment."""
    windows = session.exec(
        select(SeriesWindow).where(
            SeriesWindow.series == series,
            col(SeriesWindow.closed),
            col(SeriesWindow.window_start) >= start,
            col(SeriesWindow.window_start) < end,
        )
    ).all()
    inside = [w for w in windows if w.window_start + timedelta(seconds=w.window_seconds) <= end]
    return Span(volume=sum(w.n for w in inside), negative=sum(w.n_negative for w in inside))


def _compare(
    session: Session,
    series: str,
    step: str,
    channel: str,
    sent_at: datetime,
    messages: int,
    closed_until: datetime | None,
    now: datetime,
) -> Send:
    after_end = sent_at + HOUR
    hour_closed = now >= after_end and closed_until is not None and closed_until >= after_end
    before = _span(session, series, sent_at - HOUR, sent_at)
    if not hour_closed:
        return Send(step, channel, messages, sent_at, before, None, TOO_EARLY)
    after = _span(session, series, sent_at, after_end)
    if not before.volume and not after.volume:
        return Send(step, channel, messages, sent_at, before, after, NO_MENTIONS)
    return Send(step, channel, messages, sent_at, before, after, COMPARED)


def _points(session: Session, series: str, start: datetime, end: datetime) -> list[Point]:
    windows = session.exec(
        select(SeriesWindow)
        .where(
            SeriesWindow.series == series,
            col(SeriesWindow.closed),
            col(SeriesWindow.window_start) >= start,
            col(SeriesWindow.window_start) < end,
        )
        .order_by(col(SeriesWindow.window_start))
        .limit(MAX_POINTS)
    ).all()
    return [Point(w.window_start, w.n, w.n_negative / w.n if w.n else None) for w in windows]
