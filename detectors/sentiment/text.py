"""Tokens for the lexicon layers and the learned correction: lower-case words, in order.

>>> words("Thanks for NOTHING!! I've waited 2 hours")
['thanks', 'for', 'nothing', "i've", 'waited', '2', 'hours']
"""

from __future__ import annotations

import re

# Letters (any script), digits and inner apostrophes; "don't" and "l'appli" stay one token.
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_QUOTED = re.compile(r"[\"“”«»]\s*([^\"“”«»]{1,40}?)\s*[\"“”«»]")


def words(text: str) -> list[str]:
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def clause_ends(text: str) -> set[int]:
    """Indexes of the words that end a clause: followed by punctuation or the end of the text.

    >>> sorted(clause_ends("2 hours on hold, great"))
    [3, 4]
    """
    ends: set[int] = set()
    for i, match in enumerate(_WORD.finditer(text)):
        rest = text[match.end() :].lstrip()
        if not rest or rest[0] in ",.!?;:…-–—)":
            ends.add(i)
    return ends


def shouted(text: str) -> set[str]:
    """Words written in capitals (at least two letters) while others are not: emphasis.

    >>> sorted(shouted("on hold AGAIN, great"))
    ['again']
    """
    found = {w for w in _WORD.findall(text) if len(w) > 1 and w.isupper()}
    if not found or len(found) == len(_WORD.findall(text)):
        return set()
    return {w.lower() for w in found}


def quoted(text: str) -> list[str]:
    """Short phrases in quotation marks, often scare quotes: the "quick" reply.

    >>> quoted('thanks for the "quick" response')
    ['quick']
    """
    return [" ".join(words(q)) for q in _QUOTED.findall(text)]
