"""Terms of a mention: normalised words and two-word phrases, stop words removed.

One function decides what a "term" is for the term-burst detector, live (windows closing in
SQL) and offline (backtests over a mentions file), so both count exactly the same things.
A term is counted once per mention (how many mentions say it, not how often it is repeated).

>>> sorted(mention_terms("I was CHARGED TWICE for the Pro plan!!"))
['charged', 'charged twice', 'plan', 'pro', 'pro plan', 'twice']
>>> sorted(mention_terms("Café's down? https://x.example/y @support"))
["café's", "café's down", 'down']
>>> sorted(count_terms(["outage today", "another outage", "all good"]).items())[:4]
[('another', 1), ('another outage', 1), ('good', 1), ('outage', 2)]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Links and @handles say who and where, not what; they are dropped before words are read.
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
MAX_TERM_CHARS = 40
# Long tickets would otherwise cost more than they say: a mention gives at most this many terms.
MAX_TERMS_PER_MENTION = 64

# English function words plus chat filler; a term made only of these says nothing.
_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't during each few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've
    if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off
    on once only or other ought our ours ourselves out over own same shan't she she'd she'll
    she's should shouldn't so some such than that that's the their theirs them themselves then
    there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves just also get got still really will im ive dont
    cant doesnt didnt thats us one like now even much many please thanks thank hi hello hey ok
    okay yes yeah lol via amp rt
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def normalise(word: str) -> str:
    """Lower case, compatibility forms folded (ﬁ → fi, full-width → ASCII), curly apostrophe
    made straight, so "Outage", "OUTAGE" and "ｏｕｔａｇｅ" are one term."""
    return unicodedata.normalize("NFKC", word).casefold().replace("’", "'")


def mention_terms(text: str) -> set[str]:
    """Unigrams and adjacent bigrams of content words, each once."""
    words = [normalise(w) for w in _WORD.findall(_NOISE.sub(" ", text))]
    terms: dict[str, None] = {}
    previous: str | None = None
    for word in words:
        if not _is_content(word):
            previous = None
            continue
        terms[word] = None
        if previous is not None and previous != word:
            terms[f"{previous} {word}"] = None
        previous = word
        if len(terms) >= MAX_TERMS_PER_MENTION:
            break
    return set(terms)


def _is_content(word: str) -> bool:
    if word in STOP_WORDS or len(word) > MAX_TERM_CHARS:
        return False
    if word.isdigit():
        return len(word) >= 3  # error codes (503) are words here; "2" is not
    return len(word) > 1 or not word.isascii()


def count_terms(texts: Iterable[str]) -> dict[str, int]:
    """How many of ``texts`` contain each term."""
    return count_term_sets(mention_terms(text) for text in texts)


def count_term_sets(said: Iterable[Iterable[str]]) -> dict[str, int]:
    """How many of the mentions (each given as its terms) say each term."""
    counts: dict[str, int] = {}
    for terms in said:
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    return counts
