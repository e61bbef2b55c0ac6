"""The texts of a closing pass's windows, read once, and their term counts per (series, window).

A pass closes windows of many series; each mention counts in several of them. Reading the
stretch's mentions once, and tokenising each mention once, is what keeps term bursts cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from detectors.series import decode_keys
from detectors.term_store import window_terms
from detectors.vocabulary import count_term_sets, mention_terms
from monitor.storage.models import REPLACED_TEXTS, Mention
from streams.windows import window_start

# Term texts for windows within this many windows of the pass's newest are read in one query
# for all series (one read of each mention, however many series it counts in); only a series
# catching up on an older stretch (after a restart) reads its own, with a LIKE on its key.
_BULK_TERM_SPAN = 1440


class PassTexts:
    """The texts of one closing pass's recent windows, read once and shared by its transactions.

    A pass over 50,000 series commits every 2,000 of them; reading the stretch's mentions in
    each of those transactions read the same rows 25 times. ``newest`` is the pass's newest
    window; windows within `_BULK_TERM_SPAN` of it are recent.
    """

    def __init__(self, newest: datetime, window_seconds: int) -> None:
        self.newest = newest
        self.window_seconds = window_seconds
        self._first: datetime | None = None
        self._texts: dict[tuple[str, datetime], list[tuple[str, ...]]] = {}

    def is_recent(self, start: datetime) -> bool:
        return self.newest - start <= _BULK_TERM_SPAN * timedelta(seconds=self.window_seconds)

    def texts(
        self, session: Session, first: datetime
    ) -> dict[tuple[str, datetime], list[tuple[str, ...]]]:
        """Each (series, window)'s texts from ``first`` to the newest window (read if needed)."""
        if self._first is not None and self._first <= first:
            return self._texts
        mentions = Mention.__table__.c  # type: ignore[attr-defined]
        rows = session.execute(
            select(mentions.event_time, mentions.series_keys, mentions.text).where(
                mentions.event_time >= first,
                mentions.event_time < self.newest + timedelta(seconds=self.window_seconds),
                mentions.canonical_id.is_(None),
            )
        )
        texts: dict[tuple[str, datetime], list[tuple[str, ...]]] = {}
        for event_time, keys, text in rows:
            start = window_start(event_time, self.window_seconds)
            # Once per mention, not once per series; none from a replaced text (window_terms).
            terms = () if text in REPLACED_TEXTS else tuple(mention_terms(text))
            for series in decode_keys(keys or ""):
                texts.setdefault((series, start), []).append(terms)
        self._first, self._texts = first, texts
        return texts

    def counts(
        self, pairs: Iterable[tuple[str, datetime]]
    ) -> dict[tuple[str, datetime], dict[str, int]]:
        """How many mentions say each term, per pair (pairs without mentions are left out)."""
        found: dict[tuple[str, datetime], dict[str, int]] = {}
        for pair in pairs:
            said = self._texts.get(pair)
            if said is not None:
                found[pair] = count_term_sets(said)
        return found


def pass_terms(
    session: Session, busy: list[tuple[str, datetime]], shared: PassTexts
) -> dict[tuple[str, datetime], dict[str, int]]:
    """Term counts for the (series, window) pairs that hold mentions.

    The pass's recent windows are read together (`PassTexts`): one query over the mentions of
    that stretch, each mention's text handed to every series it counts in. Pairs far older than
    the rest (a series catching up after a restart) are read per series.
    """
    if not busy:
        return {}
    recent = {pair for pair in busy if shared.is_recent(pair[1])}
    found: dict[tuple[str, datetime], dict[str, int]] = {}
    if recent:
        shared.texts(session, min(start for _, start in recent))
        found.update({pair: counts for pair, counts in shared.counts(recent).items()})
    older: dict[str, list[datetime]] = {}
    for series, start in sorted(set(busy) - recent):
        older.setdefault(series, []).append(start)
    wanted = set(busy)
    for series, starts in older.items():
        counted = window_terms(session, series, starts, shared.window_seconds)
        found.update({(series, w): c for w, c in counted.items() if (series, w) in wanted})
    return found
