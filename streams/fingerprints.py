"""Fingerprints of texts for near-duplicate collapse: MinHash signatures and their LSH bands.

A long text (`MIN_CHARS` or more once normalised) is fingerprinted on character 5-grams, which
tolerate a changed byline or greeting. A short text (a headline, a one-line post) is
fingerprinted on its content words (lightly stemmed, stop words and outlet tags dropped), which
tolerate a reordered or slightly reworded headline; its exact word hashes are kept too, so a
short copy is confirmed on the exact Jaccard similarity, never on an estimate. Whether two
fingerprints are close enough to be one story is decided in `streams.copy_rules`.

>>> a = signature("BREAKING: Example Cloud recalls 40,000 smart plugs over fire risk - Herald")
>>> b = signature("Fire risk: Example Cloud recalls 40,000 smart plugs https://t.co/x")
>>> a.short, round(similarity(a, b), 2)
(True, 1.0)
>>> signature("!!!") is None
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from datasketch import MinHash

NUM_PERM = 64
# LSH bands: a long text's 64 values in 16 bands of 4 (pairs above about 0.5 Jaccard usually
# share a band); a short text's in 32 bands of 2, so that headline rewrites sharing only
# about 0.3 of their words still meet and can be confirmed on their exact words.
BANDS = 16
SHORT_BANDS = 32
BAND_SLOTS = 32  # band numbers per time bucket in the stored key: bucket * BAND_SLOTS + band
# A short text's words confirm a copy on their overlap once this many are shared.
MIN_COMMON_WORDS = 3
SHINGLE = 5
MIN_CHARS = 80  # after normalisation; shorter texts are "short" and follow stricter rules
# The longest event-time distance between a copy and its canonical mention. Band keys are
# bucketed by it, so every worker and the backtest must agree on it: a constant, not a setting.
MAX_GAP = timedelta(hours=48)

_RETWEET_RE = re.compile(r"^(rt|mt)\s+@\w+:?\s*", re.IGNORECASE)
_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_NOISE_RE = re.compile(r"[^\w\[\]]+")
# Outlet boilerplate around a headline: "BREAKING:", "UPDATE 2-", "(Reuters)", "- The Herald".
_KICKER_RE = re.compile(
    r"^\s*(breaking|update\s*\d*|exclusive|watch|live|just in|developing)\s*[:\-–—|]\s*",
    re.IGNORECASE,
)
_PAREN_TAG_RE = re.compile(r"\((reuters|ap|afp|dpa|bloomberg|wire|pa)\)", re.IGNORECASE)
_OUTLET_SUFFIX_RE = re.compile(r"\s+[\-–—|]\s+[^\-–—|]{1,40}$")
_STOP_WORDS = "a an the and or of to in on at for by with from over after amid as is are was be"
_STOP = frozenset([*_STOP_WORDS.split(), "its", "it", "this", "that", "says", "said", "due"])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What collapse keeps of a text: its MinHash, and for a short text its word hashes."""

    minhash: np.ndarray  # NUM_PERM uint32 minimums, for the LSH bands
    words: np.ndarray | None = None  # short texts: sorted unique uint32 word hashes

    @property
    def short(self) -> bool:
        return self.words is not None

    def to_bytes(self) -> bytes:
        """As stored: a long text's MinHash (NUM_PERM * 4 bytes), or b"w" + a short one's words.

        The two are told apart by length (a multiple of 4 or not), so rows stored before short
        texts had fingerprints still read back."""
        if self.words is None:
            return self.minhash.astype(np.uint32).tobytes()
        return b"w" + self.words.astype(np.uint32).tobytes()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Fingerprint:
        if len(raw) % 4 == 0:
            return cls(np.frombuffer(raw, dtype=np.uint32))
        words = np.frombuffer(raw[1:], dtype=np.uint32)
        return cls(_word_minhash(words), words)


def normalise_for_shingles(text: str) -> str:
    """Lower case, no retweet prefix, no links, punctuation as single spaces.

    >>> normalise_for_shingles("RT @ana: Checkout DOWN!!! https://t.co/x1 #outage")
    'checkout down outage'
    """
    text = _URL_RE.sub(" ", _RETWEET_RE.sub("", text.strip()))
    return _NOISE_RE.sub(" ", text.casefold()).strip()


def headline_words(text: str) -> list[str]:
    """The content words of a short text: outlet tags, stop words and plain suffixes dropped.

    >>> headline_words("UPDATE 1-Example Cloud is recalling its smart plugs (Reuters) - Herald")
    ['example', 'cloud', 'recall', 'smart', 'plug']
    """
    text = _URL_RE.sub(" ", _RETWEET_RE.sub("", text.strip()))
    text = _OUTLET_SUFFIX_RE.sub("", _PAREN_TAG_RE.sub(" ", _KICKER_RE.sub("", text)).strip())
    words = _NOISE_RE.sub(" ", text.casefold()).split()
    return [_stem(w) for w in words if w not in _STOP and len(w) > 1]


def _stem(word: str) -> str:
    """ "recalls", "recalled", "recalling" → "recall": enough for headline rewrites."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def signature(text: str) -> Fingerprint | None:
    """The fingerprint of ``text``, or None when nothing is left to compare once normalised."""
    normal = normalise_for_shingles(text)
    if len(normal) >= MIN_CHARS:
        shingles = {normal[i : i + SHINGLE].encode() for i in range(len(normal) - SHINGLE + 1)}
        return Fingerprint(_minhash(shingles))
    hashes = sorted({_word_hash(w) for w in headline_words(text)})
    if not hashes:
        return None
    words = np.asarray(hashes, dtype=np.uint32)
    return Fingerprint(_word_minhash(words), words)


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")


# Drawn once: MinHash draws its permutations again for every instance (a fresh RandomState),
# which cost ingest more than the hashing itself (a third of its time under HTTP load).
_REFERENCE = MinHash(num_perm=NUM_PERM, seed=7)
_PERMUTATIONS, _SCHEME = _REFERENCE.permutations, _REFERENCE.scheme


def _minhash(items: Iterable[bytes]) -> np.ndarray:
    minhash = MinHash(num_perm=NUM_PERM, seed=7, permutations=_PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch(list(items))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def _word_minhash(words: np.ndarray) -> np.ndarray:
    return _minhash(int(w).to_bytes(4, "big") for w in words)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """How alike two texts are, from 0 to 1.

    Two long texts: their Jaccard similarity, estimated from the MinHash. Two short texts:
    exact on their content words; once `MIN_COMMON_WORDS` are shared, the share of the
    shorter one's words found in the other (a rewritten headline keeps its names and nouns
    but adds its own words), else Jaccard.

    >>> s = signature
    >>> round(similarity(s("Northwind appoints Priya Raman CEO"),
    ...                  s("Priya Raman to lead Northwind as new CEO")), 2)
    0.8
    >>> round(similarity(s("Northwind opens data centre in Dublin"),
    ...                  s("Northwind expands security team in Dublin")), 2)
    0.25
    """
    if a.words is not None and b.words is not None:
        common = np.intersect1d(a.words, b.words, assume_unique=True).size
        if common >= MIN_COMMON_WORDS:
            return common / min(a.words.size, b.words.size)
        return common / (a.words.size + b.words.size - common)
    if a.short != b.short:
        return 0.0  # words and 5-grams are not comparable: a headline is not its article
    return float(np.count_nonzero(a.minhash == b.minhash)) / NUM_PERM


def bucket_of(at: datetime) -> int:
    """The `MAX_GAP`-wide slice of event time that ``at`` falls in."""
    return int((at - _EPOCH) // MAX_GAP)


def band_keys(
    fp: Fingerprint, buckets: Sequence[int], *, drill: bool = False
) -> list[tuple[int, int]]:
    """(band, signed 64-bit hash) per LSH band, in each of these time buckets.

    The band number carries the bucket (``bucket * BAND_SLOTS + band``), so keys from another
    time never meet, and a table's rows older than a bucket can be told apart. Short and long
    fingerprints, and drill and real mentions, hash apart: they only ever match their own kind.
    """
    salt = (b"drill" if drill else b"") + (b"short" if fp.short else b"")
    bands = SHORT_BANDS if fp.short else BANDS
    rows = NUM_PERM // bands
    hashes = []
    for band in range(bands):
        values = fp.minhash[band * rows : (band + 1) * rows].tobytes()
        digest = hashlib.blake2b(values + salt, digest_size=8).digest()
        hashes.append(int.from_bytes(digest, "big", signed=True))
    return [(b * BAND_SLOTS + band, h) for b in buckets for band, h in enumerate(hashes)]
