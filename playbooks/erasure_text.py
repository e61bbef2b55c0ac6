"""What detection derived from an erased person's words: terms only they used, and quotes.

A mention's text leaves traces after it is stored: its words and bigrams in the term baseline
of each of its series (`detectors.terms`), in the top terms and summary of an anomaly of its
window, and quoted in the alert text of that anomaly's incident. Erasure removes the terms
that no other stored mention contains (a word many people use is not theirs to take away from
detection) and every quote of their texts. Counts are left as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from detectors.terms import decode_top_terms
from detectors.vocabulary import mention_terms
from monitor.storage.models import ERASED_TEXT as ERASED
from monitor.storage.models import REPLACED_TEXTS, Anomaly, Incident, Mention, TermBaseline
from playbooks.person import chunks, scrub

_QUOTE = re.compile(r"“([^”]*)”")
_MIN_QUOTE = 8  # a shorter quote cannot be told apart from anyone else's words


@dataclass
class DerivedScrub:
    """What changed: terms removed, and rows rewritten per table."""

    terms: int = 0
    term_baselines: int = 0
    anomalies: int = 0
    incidents: int = 0


def scrub_derived(session: Session, *, mentions: Sequence[Mention]) -> DerivedScrub:
    """Remove the erased ``mentions``' own terms and quotes; call before their text is erased."""
    done = DerivedScrub()
    texts = [m.text for m in mentions if m.text and m.text not in REPLACED_TEXTS]
    if not texts:
        return done
    candidates = set().union(*(mention_terms(t) for t in texts))
    series = sorted({key for m in mentions for key in m.series_keys.split()})
    baselines = _baselines(session, series)
    anomalies = _anomalies(session, series, [m.event_time for m in mentions])
    seen: set[str] = set()
    for row in baselines:
        state = json.loads(row.state)
        seen |= candidates & (set(state.get("counts", {})) | set(state.get("held", {})))
    for anomaly in anomalies:
        seen |= candidates & {t.term for t in decode_top_terms(anomaly.top_terms)}
    excluded = {m.mention_id for m in mentions}
    theirs = sorted(t for t in seen if not _said_by_others(session, t, excluded))
    done.terms = len(theirs)
    for row in baselines:
        if _forget_terms(row, theirs):
            session.add(row)
            done.term_baselines += 1
    incident_ids: set[int] = set()
    for anomaly in anomalies:
        if _scrub_anomaly(anomaly, theirs):
            session.add(anomaly)
            done.anomalies += 1
        if anomaly.incident_id is not None:
            incident_ids.add(anomaly.incident_id)
    for incident_id in sorted(incident_ids):
        incident = session.get(Incident, incident_id)
        if incident is not None and incident.alert_text:
            cleaned = scrub_quotes(incident.alert_text, texts, theirs)
            if cleaned != incident.alert_text:
                incident.alert_text = cleaned
                session.add(incident)
                done.incidents += 1
    return done


def scrub_quotes(text: str, quoted: Sequence[str], terms: Iterable[str]) -> str:
    """``text`` with quotes of ``quoted`` (whole or shortened with "…") and ``terms`` erased.

    >>> scrub_quotes('> “I saw zorblax twice…” (neg)', ["I saw zorblax twice today"], [])
    '> “[ERASED]” (neg)'
    """

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1).rstrip("…").strip()
        if len(inner) >= _MIN_QUOTE and any(t.startswith(inner) for t in quoted):
            return f"“{ERASED}”"
        return match.group(0)

    return scrub(_QUOTE.sub(replace, text), terms, ERASED)


def _baselines(session: Session, series: list[str]) -> list[TermBaseline]:
    found: list[TermBaseline] = []
    for part in chunks(series):
        found += session.exec(select(TermBaseline).where(col(TermBaseline.series).in_(part))).all()
    return found


def _anomalies(session: Session, series: list[str], times: list[datetime]) -> list[Anomaly]:
    """Anomalies of their series whose windows held one of their mentions."""
    if not times:
        return []
    found: list[Anomaly] = []
    for part in chunks(series):
        found += session.exec(
            select(Anomaly).where(
                col(Anomaly.series).in_(part),
                col(Anomaly.window_end) > min(times),
                col(Anomaly.window_start) <= max(times),
            )
        ).all()
    return [a for a in found if any(a.window_start <= t < a.window_end for t in times)]


def _said_by_others(session: Session, term: str, excluded: set[str]) -> bool:
    """Does a stored mention other than the erased ones contain ``term``? (A substring test
    in SQL, which can only err towards keeping a term.)"""
    rows = session.exec(
        select(Mention.mention_id)
        .where(func.lower(Mention.text).contains(term, autoescape=True))
        .limit(len(excluded) + 1)
    ).all()
    return any(r not in excluded for r in rows)


def _forget_terms(row: TermBaseline, terms: Sequence[str]) -> bool:
    state = json.loads(row.state)
    changed = False
    for part in ("counts", "held"):
        kept = dict(state.get(part, {}))
        for term in terms:
            changed |= kept.pop(term, None) is not None
        state[part] = kept
    if changed:
        row.state = json.dumps(state)
    return changed


def _scrub_anomaly(anomaly: Anomaly, terms: Sequence[str]) -> bool:
    if not terms:
        return False
    changed = False
    if anomaly.top_terms:
        rows = json.loads(anomaly.top_terms)
        renamed = [[ERASED if r[0] in terms else r[0], *r[1:]] for r in rows]
        if renamed != rows:
            anomaly.top_terms = json.dumps(renamed)
            changed = True
    summary = scrub(anomaly.summary, terms, ERASED)
    if summary != anomaly.summary:
        anomaly.summary = summary
        changed = True
    return changed
