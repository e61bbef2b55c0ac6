"""Which segments the customer behind a mention is in, for the ``segment:`` series.

Mentions carry customer ids pseudonymised with the keyed HMAC of `monitor.privacy`; customers
are stored with their external id and, since the same key is configured, the same pseudonym
(`customers.pseudonym`). The raw id never reaches a mention, and the pseudonym is all ingest
looks up. Segments are evaluated on the customer's current data; answers are cached for a
short TTL, so a customer who moves between segments counts in the new ones within it, and a
batch of mentions costs at most one indexed query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import Engine, bindparam, update
from sqlmodel import Session, col, select

from monitor.privacy import Pseudonymiser, customer_pseudonym
from monitor.storage.db import session_scope
from playbooks.models import Customer
from playbooks.segments import Segments

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 60.0
MAX_CACHED = 100_000
_CHUNK = 500


def sync_pseudonyms(engine: Engine, pseudonymiser: Pseudonymiser, *, everyone: bool) -> int:
    """Give customers the pseudonym of the configured key; returns how many changed.

    Customers imported before a key was set have none; after the key changes, every stored
    pseudonym is stale (``everyone=True`` recomputes them all).
    """
    if not pseudonymiser.key:
        return 0
    table = Customer.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        query = select(table.c.id, table.c.external_id, table.c.pseudonym)
        if not everyone:
            query = query.where(table.c.pseudonym.is_(None))
        rows = session.execute(query).all()
        changes = [
            {"row_id": row.id, "value": fresh}
            for row in rows
            if (fresh := customer_pseudonym(pseudonymiser, row.external_id)) != row.pseudonym
        ]
        if changes:
            session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(pseudonym=bindparam("value")),
                changes,
            )
    return len(changes)


def key_changed(engine: Engine, pseudonymiser: Pseudonymiser) -> bool:
    """Whether stored pseudonyms were made with another key (one customer tells)."""
    with Session(engine) as session:
        sample = session.exec(
            select(Customer).where(col(Customer.pseudonym).is_not(None)).limit(1)
        ).first()
    return sample is not None and sample.pseudonym != customer_pseudonym(
        pseudonymiser, sample.external_id
    )


class CustomerSegments:
    """`detectors.series.SegmentLookup` over the customers table, with a short-TTL cache.

    Unknown ids are cached too (as in no segment), so a stream of mentions from customers
    nobody imported costs one query per TTL, not one per batch.
    """

    def __init__(
        self,
        engine: Engine,
        segments: Segments,
        pseudonymiser: Pseudonymiser,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_cached: int = MAX_CACHED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._segments = segments
        self._pseudonymiser = pseudonymiser
        self._ttl = ttl_seconds
        self._max_cached = max_cached
        self._clock = clock
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        self._next_sync: float | None = None  # None: never synced (check for a new key too)

    def segments_of(
        self, customer_ids: Collection[str], *, now: datetime
    ) -> dict[str, tuple[str, ...]]:
        if not self._segments.names:
            return {}
        with self._lock:
            moment = self._clock()
            found: dict[str, tuple[str, ...]] = {}
            missing: list[str] = []
            for customer_id in customer_ids:
                cached = self._cache.get(customer_id)
                if cached is not None and cached[0] > moment:
                    found[customer_id] = cached[1]
                else:
                    missing.append(customer_id)
            if missing:
                self._keep_pseudonyms_current(moment)
                loaded = self._load(missing, now=now)
                if len(self._cache) + len(missing) > self._max_cached:
                    self._cache = {k: v for k, v in self._cache.items() if v[0] > moment}
                    if len(self._cache) + len(missing) > self._max_cached:
                        self._cache.clear()
                expires = moment + self._ttl
                for customer_id in missing:
                    found[customer_id] = loaded.get(customer_id, ())
                    self._cache[customer_id] = (expires, found[customer_id])
            return found

    def _keep_pseudonyms_current(self, moment: float) -> None:
        """Customers added without a key get one; at most once per TTL, and a cheap query."""
        if self._next_sync is not None and moment < self._next_sync:
            return
        everyone = self._next_sync is None and key_changed(self._engine, self._pseudonymiser)
        changed = sync_pseudonyms(self._engine, self._pseudonymiser, everyone=everyone)
        if changed:
            log.info("gave %d customers the pseudonym mentions carry for them", changed)
        self._next_sync = moment + self._ttl

    def _load(self, pseudonyms: list[str], *, now: datetime) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        with Session(self._engine) as session:
            for start in range(0, len(pseudonyms), _CHUNK):
                chunk = pseudonyms[start : start + _CHUNK]
                customers = session.exec(
                    select(Customer).where(col(Customer.pseudonym).in_(chunk))
                ).all()
                for customer in customers:
                    assert customer.pseudonym is not None
                    names = [*found.get(customer.pseudonym, ())]
                    names += [n for n in self._segments.of(customer, now=now) if n not in names]
                    found[customer.pseudonym] = tuple(names)
        return found
