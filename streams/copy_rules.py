"""When is a mention a copy of another? The one decision, shared by live ingest and backtest.

`collapse_with` runs the whole collapse over a `CopyStore`: the SQL tables every worker shares
(`streams.near_duplicates`) or `MemoryCopies`, the backtest's twin. Both therefore find the
same copies on the same batches; only where band keys and fingerprints are kept differs.

A mention is a copy of an earlier one when all of these hold:

- their fingerprints are close: Jaccard ≥ `LONG_THRESHOLD` for long texts (character 5-grams),
  ≥ `SHORT_THRESHOLD` on the exact content words for short ones (headlines, one-line posts;
  see `streams.fingerprints.similarity`);
- the canonical mention is at most `MAX_GAP` (48 h) away in event time for a long syndicated
  story, `NEAR_GAP` (1 h) for anything else: a headline seen again hours later is more likely
  news of its own, and one complaint pasted into two channels is pasted within the hour
  (the same question asked in the same words hours apart is two customers asking);
- they can be one voice: two different known people (author or customer) writing alike are
  two voices, unless the text was syndicated (a news or feed source, a link in the text, a
  retweet). Short texts need more: both must look syndicated. Customers who write "site is
  down again, can't log in" in their own words are never folded, however alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from streams.fingerprints import (
    BAND_SLOTS,
    MAX_GAP,
    Fingerprint,
    band_keys,
    bucket_of,
    similarity,
)
from streams.mentions import MentionIn

LONG_THRESHOLD = 0.6
SHORT_THRESHOLD = 0.75
NEAR_GAP = timedelta(hours=1)

_NEWS_SOURCE_RE = re.compile(r"news|rss|atom|feed|wire|press|media|outlet", re.IGNORECASE)
_LINK_RE = re.compile(r"https?://\S+|www\.\S+")
_SHARE_RE = re.compile(r"^(rt|mt)\s+@\w+|\bvia\s+@\w+", re.IGNORECASE)

Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Traits:
    """Who said it and whether it looks republished rather than written."""

    person: str | None  # the customer, else the author; None when unknown
    syndicated: bool


def traits_of(
    source: str,
    text: str,
    *,
    author: str | None = None,
    customer_id: str | None = None,
    url: str | None = None,
    network: str | None = None,
) -> Traits:
    """Traits from a mention's fields (a `MentionIn` or a stored row alike).

    >>> traits_of("news", "Example Cloud recalls plugs", author="psn:herald").syndicated
    True
    >>> traits_of("tickets", "site down again, can't log in", customer_id="psn:7")
    Traits(person='psn:7', syndicated=False)
    """
    published = bool(url) and author is None and customer_id is None  # a feed entry
    syndicated = (
        bool(_NEWS_SOURCE_RE.search(source) or _NEWS_SOURCE_RE.search(network or ""))
        or bool(_LINK_RE.search(text) or _SHARE_RE.search(text))
        or published
    )
    return Traits(customer_id or author, syndicated)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A mention that may be a copy (new) or an original (stored): what collapse compares."""

    mention_id: str
    event_time: datetime
    fingerprint: Fingerprint
    traits: Traits = Traits(None, False)
    drill: bool = False
    canonical_id: str | None = None  # set on stored mentions that are copies themselves


def candidate_of(mention: MentionIn, fingerprint: Fingerprint) -> Candidate:
    traits = traits_of(
        mention.source,
        mention.text,
        author=mention.author,
        customer_id=mention.customer_id,
        url=mention.url,
        network=mention.network,
    )
    return Candidate(mention.mention_id, mention.event_time, fingerprint, traits, mention.drill)


def may_copy(new: Candidate, original: Candidate, root_time: datetime) -> bool:
    """Whether ``new`` may be a copy of ``original`` (whose canonical is at ``root_time``),
    similarity aside."""
    short = new.fingerprint.short
    syndicated = new.traits.syndicated or original.traits.syndicated
    gap = MAX_GAP if syndicated and not short else NEAR_GAP
    if abs(new.event_time - root_time) > gap or abs(new.event_time - original.event_time) > gap:
        return False
    if short:
        return new.traits.syndicated and original.traits.syndicated
    a, b = new.traits.person, original.traits.person
    two_people = a is not None and b is not None and a != b
    return not two_people or syndicated


def threshold(fp: Fingerprint) -> float:
    return SHORT_THRESHOLD if fp.short else LONG_THRESHOLD


class CopyStore(Protocol):
    """Where band keys and fingerprints are kept: shared SQL tables, or memory."""

    def claim(self, rows: Sequence[tuple[int, int, str]]) -> set[Key]:
        """Record (band, hash, mention id) rows in this order, a key already taken staying with
        its owner; return the keys these rows took."""

    def owners(self, keys: set[Key]) -> dict[Key, str]:
        """The mention owning each of these (taken) keys."""

    def stored(self, mention_ids: set[str]) -> dict[str, Candidate]:
        """Stored mentions (fingerprint, time, traits, canonical id); unknown ones are left out."""

    def save(self, candidates: Sequence[Candidate], copies: dict[str, str]) -> None:
        """Keep the new mentions' fingerprints; link copies to their canonical mentions."""

    def take_over(self, rows: Sequence[tuple[int, int, str, str]]) -> None:
        """Give each (band, hash) key to a new owner, if its old owner still holds it."""


def keys_of(c: Candidate) -> list[Key]:
    """A mention's band keys in its own time bucket and the next one.

    Two mentions at most `MAX_GAP` apart always share one of these buckets, whichever came
    first, so a copy is found through a conflicting key alone: no lookup of other buckets."""
    bucket = bucket_of(c.event_time)
    return band_keys(c.fingerprint, (bucket, bucket + 1), drill=c.drill)


def collapse_with(store: CopyStore, candidates: Sequence[Candidate]) -> dict[str, str]:
    """Record the new mentions' band keys and return {copy id: canonical id}.

    Among mentions of one batch the earliest in event time becomes the canonical one; a later
    mention of the batch is never the original of an earlier one.
    """
    # A short text nobody republished can be neither a copy nor an original: no rows for it,
    # which spares the tables most customers' one-liners.
    eligible = [c for c in candidates if c.traits.syndicated or not c.fingerprint.short]
    if not eligible:
        return {}
    ordered = sorted(eligible, key=lambda c: (c.event_time, c.mention_id))
    rank = {c.mention_id: i for i, c in enumerate(ordered)}
    batch = {c.mention_id: c for c in ordered}
    keys = {c.mention_id: keys_of(c) for c in ordered}
    # Sorted by key, so that two workers take rows in the same order and cannot deadlock.
    rows = sorted(
        ((band, value, c.mention_id) for c in ordered for band, value in keys[c.mention_id]),
        key=lambda r: (r[0], r[1], rank[r[2]]),
    )
    claimed = store.claim(rows)
    # Whoever owns each key now: a mention seen before, or the first of ours in sorted order.
    owners = store.owners({key for ks in keys.values() for key in ks if key not in claimed})
    known: dict[str, Candidate] = dict(batch)
    known.update(store.stored(set(owners.values())))
    roots = {k.canonical_id for k in known.values() if k.canonical_id}
    known.update(store.stored({r for r in roots if r not in known}))

    # Mentions go in order; each meets whoever holds its keys at that point (stored mentions,
    # or earlier ones of the batch), takes the keys nobody holds, as the insert above did, and,
    # as a canonical mention, the keys of a story begun more than `MAX_GAP` before it: nothing
    # from then on can be a copy of that one, and the same story told again days later must be
    # able to gather its own copies.
    holder = dict(owners)
    copies: dict[str, str] = {}
    for c in ordered:
        best, best_score = None, threshold(c.fingerprint)
        mine = keys[c.mention_id]
        for other in sorted({holder[k] for k in mine if k in holder}):
            original = known.get(other)
            root = copies.get(other) or (original and original.canonical_id) or other
            if original is None or root not in known:
                continue
            if not may_copy(c, original, known[root].event_time):
                continue
            score = similarity(c.fingerprint, original.fingerprint)
            if score >= best_score:
                best, best_score = root, score
        if best is not None:
            copies[c.mention_id] = best
        for key in mine:
            held = holder.get(key)
            if held is None or (best is None and _stale(held, c, known, copies)):
                holder[key] = c.mention_id
    store.save(ordered, copies)
    # Keys whose holder changed from the one the tables name: handed to the new holder.
    first: dict[Key, str] = {}
    for band, value, mention_id in rows:
        first.setdefault((band, value), mention_id)
    table_owner = {**first, **owners}
    store.take_over(
        sorted(
            (band, value, new, table_owner[(band, value)])
            for (band, value), new in holder.items()
            if new != table_owner[(band, value)]
        )
    )
    return copies


def _stale(held: str, c: Candidate, known: dict[str, Candidate], copies: dict[str, str]) -> bool:
    """Whether the story of the mention holding a key began more than `MAX_GAP` before ``c``."""
    holding = known.get(held)
    if holding is None:
        return True
    root = known.get(copies.get(held) or holding.canonical_id or held)
    return root is None or c.event_time - root.event_time > MAX_GAP


@dataclass
class MemoryCopies:
    """The in-memory twin of the shared SQL tables, for the backtest.

    >>> from streams.fingerprints import signature
    >>> from datetime import UTC
    >>> at = datetime(2026, 1, 5, tzinfo=UTC)
    >>> wire = [Candidate(f"m{k}", at + timedelta(minutes=k),
    ...                   signature(f"Example Cloud recalls smart plugs over fire risk #{k}"),
    ...                   Traits(f"outlet{k}", True)) for k in range(3)]
    >>> MemoryCopies().collapse(wire)
    {'m1': 'm0', 'm2': 'm0'}
    """

    keys: dict[Key, str] = field(default_factory=dict)
    mentions: dict[str, Candidate] = field(default_factory=dict)

    def claim(self, rows: Sequence[tuple[int, int, str]]) -> set[Key]:
        taken = set()
        for band, value, mention_id in rows:
            if (band, value) not in self.keys:
                self.keys[(band, value)] = mention_id
                taken.add((band, value))
        return taken

    def owners(self, keys: set[Key]) -> dict[Key, str]:
        return {key: self.keys[key] for key in keys if key in self.keys}

    def stored(self, mention_ids: set[str]) -> dict[str, Candidate]:
        return {m: self.mentions[m] for m in mention_ids if m in self.mentions}

    def take_over(self, rows: Sequence[tuple[int, int, str, str]]) -> None:
        for band, value, new, old in rows:
            if self.keys.get((band, value)) == old:
                self.keys[(band, value)] = new

    def save(self, candidates: Sequence[Candidate], copies: dict[str, str]) -> None:
        for c in candidates:
            if c.mention_id not in self.mentions:
                self.mentions[c.mention_id] = _with_canonical(c, copies.get(c.mention_id))

    def forget_before(self, at: datetime) -> None:
        """Drop what no mention at ``at`` or later can reach: keys of earlier time buckets (it
        writes keys in its own bucket and the next), mentions more than twice `MAX_GAP` older
        (the canonical of an owner it meets is at most that far)."""
        first_band = bucket_of(at) * BAND_SLOTS
        self.keys = {key: m for key, m in self.keys.items() if key[0] >= first_band}
        self.mentions = {m: c for m, c in self.mentions.items() if at - c.event_time <= 2 * MAX_GAP}

    def collapse(self, candidates: Iterable[Candidate]) -> dict[str, str]:
        """{copy id: canonical id} among these new mentions, as one ingest batch would."""
        fresh = {c.mention_id: c for c in candidates if c.mention_id not in self.mentions}
        return collapse_with(self, list(fresh.values()))


def _with_canonical(c: Candidate, canonical_id: str | None) -> Candidate:
    if canonical_id is None:
        return c
    return Candidate(c.mention_id, c.event_time, c.fingerprint, c.traits, c.drill, canonical_id)


class Fingerprinted(Protocol):
    """A scored mention (`streams.ingest.ScoredMention`): its mention and fingerprint."""

    @property
    def mention(self) -> MentionIn: ...

    @property
    def signature(self) -> Fingerprint | None: ...


def copies_in_memory(scored: Iterable[Fingerprinted], *, part: int = 2_000) -> dict[str, str]:
    """{copy id: canonical id} for a whole file of mentions, as one ingest batch would find.

    The backtest's collapse: the same rules as live, on `MemoryCopies` instead of SQL. The
    mentions go through in event-time order, ``part`` at a time, which finds the same copies as
    one batch; keys and mentions that nothing later can reach are dropped between parts, so a
    file of a million mentions does not keep a million mentions' band keys."""
    candidates = sorted(
        (candidate_of(item.mention, item.signature) for item in scored if item.signature),
        key=lambda c: (c.event_time, c.mention_id),
    )
    store = MemoryCopies()
    copies: dict[str, str] = {}
    for offset in range(0, len(candidates), part):
        chunk = candidates[offset : offset + part]
        store.forget_before(chunk[0].event_time)
        copies.update(store.collapse(chunk))
    return copies
