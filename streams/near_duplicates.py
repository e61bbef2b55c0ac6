"""Near-duplicate collapse: syndicated stories, retweets, one complaint pasted into many channels.

Each mention's text becomes character 5-gram shingles and a 64-permutation MinHash. Its 16 LSH
bands (4 rows each, so pairs above about 0.5 Jaccard usually share a band) are inserted into
``near_duplicate_bands`` in the ingest transaction; **a conflicting insert means "seen
before"**, whichever worker saw it, because the table is shared by all. A candidate is
confirmed on its stored signature (estimated Jaccard ≥ `THRESHOLD`), so an LSH false positive
never collapses two different mentions. A copy points at its canonical mention, adds to its
``copies``, and is counted in its windows' ``n_copies``, never in their volume.

Short texts (under `MIN_CHARS` once normalised) are never collapsed: many people writing "the
site is down again, I can't log in!" are many voices, not copies, and a crisis must count them.
The price: retweets of short posts are counted as separate mentions.

>>> a = signature("BREAKING: Example Cloud outage leaves shoppers unable to pay at checkout, "
...               "the company said on Monday")
>>> b = signature("Example Cloud outage leaves shoppers unable to pay at checkout, the company "
...               "said on Monday (Reuters)")
>>> c = signature("Example Cloud shares rose on Monday after the company said its checkout is "
...               "now faster for shoppers")
>>> similarity(a, b) > THRESHOLD > similarity(a, c)
True
>>> signature("Your site is DOWN again, I can't log in at all. This outage is unacceptable!")
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from datasketch import MinHash
from sqlalchemy import select, update
from sqlmodel import Session

from monitor.storage.db import insert_for
from monitor.storage.models import Mention, NearDuplicateBand, NearDuplicateSignature

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
THRESHOLD = 0.6
MIN_CHARS = 80  # after normalisation; shorter texts are never collapsed

_RETWEET_RE = re.compile(r"^(rt|mt)\s+@\w+:?\s*", re.IGNORECASE)
_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_NOISE_RE = re.compile(r"[^\w\[\]]+")


def normalise_for_shingles(text: str) -> str:
    """Lower case, no retweet prefix, no links, punctuation as single spaces.

    >>> normalise_for_shingles("RT @ana: Checkout DOWN!!! https://t.co/x1 #outage")
    'checkout down outage'
    """
    text = _URL_RE.sub(" ", _RETWEET_RE.sub("", text.strip()))
    return _NOISE_RE.sub(" ", text.casefold()).strip()


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of ``text``, or None when it is too short to collapse."""
    normal = normalise_for_shingles(text)
    if len(normal) < MIN_CHARS:
        return None
    shingles = {normal[i : i + SHINGLE].encode() for i in range(len(normal) - SHINGLE + 1)}
    minhash = MinHash(num_perm=NUM_PERM, seed=7)
    minhash.update_batch(list(shingles))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal minimums."""
    return float(np.count_nonzero(a == b)) / len(a)


def band_hashes(sig: np.ndarray, *, drill: bool = False) -> list[tuple[int, int]]:
    """(band, signed 64-bit hash) per band. Drill mentions only ever match drill mentions."""
    hashes = []
    for band in range(BANDS):
        rows = sig[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(rows + (b"drill" if drill else b""), digest_size=8).digest()
        hashes.append((band, int.from_bytes(digest, "big", signed=True)))
    return hashes


@dataclass(frozen=True, slots=True)
class Candidate:
    """A new mention that may be a copy: what `collapse` needs to know about it."""

    mention_id: str
    event_time: datetime
    signature: np.ndarray
    drill: bool = False


def collapse(session: Session, candidates: Sequence[Candidate]) -> dict[str, str]:
    """Record the new mentions' bands and signatures; return {copy id: canonical id}.

    Runs inside the ingest transaction. Rows are touched in sorted key order so two workers
    cannot deadlock; among mentions of one batch the earliest becomes the canonical one.
    """
    if not candidates:
        return {}
    ordered = sorted(candidates, key=lambda c: (c.event_time, c.mention_id))
    rank = {c.mention_id: i for i, c in enumerate(ordered)}
    bands = {c.mention_id: band_hashes(c.signature, drill=c.drill) for c in ordered}
    band_table = NearDuplicateBand.__table__  # type: ignore[attr-defined]
    # (band, hash, mention id) sorted by key, so that two workers cannot deadlock.
    rows = sorted(
        ((band, value, c.mention_id) for c in ordered for band, value in bands[c.mention_id]),
        key=lambda r: (r[0], r[1], rank[r[2]]),
    )
    insert = (
        insert_for(session, band_table)
        .on_conflict_do_nothing(index_elements=["band", "hash"])
        .returning(band_table.c.band, band_table.c.hash)
    )
    params = [{"band": band, "hash": value, "mention_id": mid} for band, value, mid in rows]
    claimed = {(int(b), int(h)) for b, h in session.execute(insert, params).all()}
    # Whoever owns each band now: us (claimed above) or a mention seen before.
    conflicting = {key for c in ordered for key in bands[c.mention_id] if key not in claimed}
    owners: dict[tuple[int, int], str] = {}
    if conflicting:
        found = session.execute(
            select(band_table.c.band, band_table.c.hash, band_table.c.mention_id).where(
                band_table.c.hash.in_(sorted({h for _, h in conflicting}))
            )
        ).all()
        owners = {(b, h): m for b, h, m in found if (b, h) in conflicting}
    for band, value, mid in rows:
        if (band, value) in claimed:
            owners.setdefault((band, value), mid)  # the first in sorted order was inserted

    signatures = {c.mention_id: c.signature for c in ordered}
    outside = {o for o in owners.values() if o not in signatures}
    canonical_of: dict[str, str] = {}
    if outside:
        signatures.update(_stored_signatures(session, outside))
        canonical_of.update(_canonicals(session, outside))

    copies: dict[str, str] = {}
    for c in ordered:
        best, best_score = None, THRESHOLD
        for other in sorted({owners[k] for k in bands[c.mention_id] if k in owners}):
            if other == c.mention_id or other not in signatures:
                continue
            if other in rank and rank[other] > rank[c.mention_id]:
                continue  # a later mention of this batch cannot be our original
            score = similarity(c.signature, signatures[other])
            if score >= best_score:
                best, best_score = other, score
        if best is not None:
            root = copies.get(best) or canonical_of.get(best) or best
            copies[c.mention_id] = root

    sig_table = NearDuplicateSignature.__table__  # type: ignore[attr-defined]
    session.execute(
        insert_for(session, sig_table).on_conflict_do_nothing(index_elements=["mention_id"]),
        [{"mention_id": c.mention_id, "signature": c.signature.tobytes()} for c in ordered],
    )
    _link(session, copies)
    return copies


def _stored_signatures(session: Session, ids: set[str]) -> dict[str, np.ndarray]:
    table = NearDuplicateSignature.__table__  # type: ignore[attr-defined]
    found = session.execute(
        select(table.c.mention_id, table.c.signature).where(table.c.mention_id.in_(sorted(ids)))
    ).all()
    return {m: np.frombuffer(s, dtype=np.uint32) for m, s in found}


def _canonicals(session: Session, ids: set[str]) -> dict[str, str]:
    table = Mention.__table__  # type: ignore[attr-defined]
    found = session.execute(
        select(table.c.mention_id, table.c.canonical_id).where(
            table.c.mention_id.in_(sorted(ids)), table.c.canonical_id.is_not(None)
        )
    ).all()
    return {m: c for m, c in found}


def _link(session: Session, copies: dict[str, str]) -> None:
    """Point each copy at its canonical mention and add to the canonical's copy count."""
    if not copies:
        return
    table = Mention.__table__  # type: ignore[attr-defined]
    for copy_id in sorted(copies):
        session.execute(
            update(table).where(table.c.mention_id == copy_id).values(canonical_id=copies[copy_id])
        )
    counts: dict[str, int] = {}
    for root in copies.values():
        counts[root] = counts.get(root, 0) + 1
    for root in sorted(counts):
        session.execute(
            update(table)
            .where(table.c.mention_id == root)
            .values(copies=table.c.copies + counts[root])
        )
