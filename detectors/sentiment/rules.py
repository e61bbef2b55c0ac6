"""Layers 2 and 3: the customer-service lexicon and the sarcasm and complaint patterns.

`analyse` reads one text against a `Lexicon`, on top of a base score (VADER's for English,
none for the other languages), and returns the combined rule-based compound, the evidence
for it, and the signals the learned correction uses as features.

>>> from detectors.sentiment.lexicon import Lexicon, LexiconFile, SarcasmCues
>>> lexicon = Lexicon.from_file("en", LexiconFile(
...     terms={"on hold": -1.6, "great": 3.1}, sarcasm=SarcasmCues(praise=["great"])))
>>> reading = analyse("2 hours on hold, great", lexicon)
>>> reading.compound < 0, reading.sarcasm, reading.drivers("negative")
(True, True, ('"great" (sarcastic)', 'on hold'))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from detectors.sentiment.lexicon import Hit, Lexicon
from detectors.sentiment.text import clause_ends, quoted, shouted, words

# VADER's constants: how much a negator, capitals and the half after "but" change a word,
# and the alpha that squashes a summed valence into [-1, 1].
NEGATION_SCALAR = -0.74
CAPS_INCREMENT = 0.733
BEFORE_CONTRAST = 0.5
AFTER_CONTRAST = 1.5
ALPHA = 15.0
# A word or phrase at least this negative is a complaint: praise next to it may be sarcastic.
COMPLAINT_CUE = -1.0
# At least this negative, praise anywhere in the text is read as sarcastic.
STRONG_COMPLAINT = -2.0
SARCASM_MARKER = -1.5


def squash(total: float) -> float:
    """VADER's normalisation of a summed valence to a compound in (-1, 1).

    >>> round(squash(3.1), 4)
    0.6249
    """
    return total / math.sqrt(total * total + ALPHA)


def unsquash(compound: float) -> float:
    """The summed valence that `squash` maps to ``compound``.

    >>> round(unsquash(squash(-2.5)), 6)
    -2.5
    """
    c = max(-0.995, min(0.995, compound))
    return c * math.sqrt(ALPHA / (1.0 - c * c))


@dataclass(slots=True)
class Evidence:
    text: str
    valence: float
    start: int
    end: int


@dataclass(slots=True)
class Analysis:
    """The rule layers' verdict on one text, with its evidence."""

    compound: float
    tokens: list[str]
    # (words as a user reads them, valence contributed): the explanation.
    evidence: list[tuple[str, float]] = field(default_factory=list)
    positive_mass: float = 0.0
    negative_mass: float = 0.0
    domain_hits: int = 0
    sarcasm: bool = False
    complaint: bool = False
    negated: bool = False
    question: bool = False
    exclaim: bool = False

    def drivers(self, label: str, limit: int = 5) -> tuple[str, ...]:
        """The evidence that points the way of ``label``, strongest first."""
        if label == "negative":
            chosen = [e for e in self.evidence if e[1] < 0]
        elif label == "positive":
            chosen = [e for e in self.evidence if e[1] > 0]
        else:
            chosen = list(self.evidence)
        chosen.sort(key=lambda e: -abs(e[1]))
        seen: list[str] = []
        for text, _ in chosen:
            if text not in seen:
                seen.append(text)
        return tuple(seen[:limit])


class _Reader:
    """One text being read: tokens, negation scope and the evidence found so far."""

    def __init__(self, text: str, lexicon: Lexicon, negators: frozenset[str]) -> None:
        self.text = text
        self.lexicon = lexicon
        self.tokens = words(text)
        self.negators = negators
        self.loud = shouted(text)
        self.contrast_at = next(
            (i for i, t in enumerate(self.tokens) if t in lexicon.contrast), None
        )
        self.ends = clause_ends(text)
        self.covered: set[int] = set()
        self.evidence: list[Evidence] = []
        self.negated = False

    def negated_at(self, start: int) -> bool:
        """A negator within the three words before, in the same clause: "not fixed"."""
        for j in range(start - 1, max(-1, start - 4), -1):
            if j in self.ends:  # "won't answer. Terrible": the full stop ends its reach
                return False
            if self.tokens[j] in self.negators and j not in self.covered:
                return True
        return False

    def weigh(self, hit: Hit) -> float:
        weight = hit.weight
        sign = 1.0 if weight >= 0 else -1.0
        if hit.start > 0:
            weight += sign * self.lexicon.boosters.get(self.tokens[hit.start - 1], 0.0)
        if any(t in self.loud for t in self.tokens[hit.start : hit.end]):
            weight += sign * CAPS_INCREMENT
        if self.contrast_at is not None:
            weight *= BEFORE_CONTRAST if hit.start < self.contrast_at else AFTER_CONTRAST
        if self.negated_at(hit.start):
            self.negated = True
            weight *= NEGATION_SCALAR
        return weight


def analyse(
    text: str,
    lexicon: Lexicon,
    *,
    base_compound: float = 0.0,
    base_valences: dict[str, float] | None = None,
    base_negators: frozenset[str] = frozenset(),
) -> Analysis:
    """Combine a base score with the lexicon's terms, long waits and sarcasm.

    ``base_valences`` is the base scorer's own word list (VADER's lexicon for English): those
    words become evidence, and a lexicon entry replaces their weight instead of adding to it.
    """
    reader = _Reader(text, lexicon, lexicon.negators | base_negators)
    tokens = reader.tokens
    hits = lexicon.terms.find(tokens)
    # A negator inside an entry is part of its meaning ("no refund"), unless it ends the
    # entry and so reaches the next word ("still not | fixed").
    reader.covered = {j for hit in hits for j in range(hit.start, hit.end - 1)}

    # The base scorer's words, roughly as it weighs them: evidence, and replaced by entries.
    base_word: dict[int, float] = {}
    for i, token in enumerate(tokens):
        valence = (base_valences or {}).get(token)
        if valence is not None:
            base_word[i] = valence * NEGATION_SCALAR if reader.negated_at(i) else valence

    added = 0.0
    for hit in hits:
        weight = reader.weigh(hit)
        added += weight - sum(base_word.pop(j, 0.0) for j in range(hit.start, hit.end))
        phrase = " ".join(tokens[hit.start : hit.end])
        negated = weight * hit.weight < 0
        reader.evidence.append(
            Evidence(f"not {phrase}" if negated else phrase, weight, hit.start, hit.end)
        )
    for i, valence in base_word.items():
        negated = valence * (base_valences or {})[tokens[i]] < 0
        reader.negated = reader.negated or negated
        reader.evidence.append(
            Evidence(f"not {tokens[i]}" if negated else tokens[i], valence, i, i + 1)
        )
    wait = _long_wait(tokens, lexicon)
    if wait is not None:
        added += lexicon.long_wait_weight
        reader.evidence.append(Evidence(wait[0], lexicon.long_wait_weight, wait[1], wait[1] + 2))

    result = Analysis(
        compound=0.0,
        tokens=tokens,
        domain_hits=len(hits) + (wait is not None),
        negated=reader.negated,
        question="?" in text,
        exclaim="!" in text,
        complaint=any(e.valence <= COMPLAINT_CUE for e in reader.evidence),
    )
    added += _sarcasm(reader, result)
    result.evidence = [(e.text, e.valence) for e in reader.evidence]
    result.positive_mass = sum(e.valence for e in reader.evidence if e.valence > 0)
    result.negative_mass = -sum(e.valence for e in reader.evidence if e.valence < 0)
    if base_compound or added:
        result.compound = squash(unsquash(base_compound) + added)
    return result


def _long_wait(tokens: list[str], lexicon: Lexicon) -> tuple[str, int] | None:
    """ "3 weeks", "two hours" near a waiting word: a complaint VADER cannot see."""
    if not lexicon.wait_units or not any(t in lexicon.wait_words for t in tokens):
        return None
    for i, token in enumerate(tokens[:-1]):
        if token.isdigit() or token in lexicon.wait_numbers:
            for j in (i + 1, i + 2):
                if j < len(tokens) and tokens[j] in lexicon.wait_units:
                    return f"long wait ({token} {tokens[j]})", i
    return None


def _sarcasm(reader: _Reader, result: Analysis) -> float:
    """Find sarcastic praise or thanks; flip it, record why, return the valence change."""
    lexicon, tokens = reader.lexicon, reader.tokens
    markers = lexicon.markers.find(tokens)
    cues = [e for e in reader.evidence if e.valence <= COMPLAINT_CUE]
    # Praise in scare quotes: the "quick" reply.
    quoted_words = {w for q in quoted(reader.text) for w in q.split()}
    in_quotes = bool(quoted_words & lexicon.praise) or any(
        e.valence > 0 and set(e.text.split()) & quoted_words for e in reader.evidence
    )
    sarcastic = bool(markers) or in_quotes
    if cues and not lexicon.resolved.find(tokens):
        first_cue = min(e.start for e in cues)
        strong = any(e.valence <= STRONG_COMPLAINT for e in cues)
        ends = reader.ends
        for i, token in enumerate(tokens):
            if token not in lexicon.praise or reader.negated_at(i):
                continue
            # "late, but they made it right": praise after the contrast is meant.
            if reader.contrast_at is not None and i > reader.contrast_at > first_cue:
                continue
            if i in ends or strong:
                sarcastic = True
        for hit in lexicon.thanks.find(tokens):
            if any(e.start >= hit.end for e in cues):
                sarcastic = True
    if not sarcastic:
        return 0.0
    result.sarcasm = True
    thanks_words = {t for hit in lexicon.thanks.find(tokens) for t in tokens[hit.start : hit.end]}
    flip_any = bool(markers) or in_quotes
    change = 0.0
    kept: list[Evidence] = []
    for e in reader.evidence:
        words_in = set(e.text.split())
        if e.valence > 0 and (flip_any or words_in & (lexicon.praise | thanks_words)):
            change -= 2.0 * e.valence
            kept.append(Evidence(f'"{e.text}" (sarcastic)', -e.valence, e.start, e.end))
        else:
            kept.append(e)
    if markers:
        change += SARCASM_MARKER
        marker = " ".join(tokens[markers[0].start : markers[0].end])
        kept.append(Evidence(f'"{marker}" (sarcastic)', SARCASM_MARKER, markers[0].start, 0))
    reader.evidence = kept
    return change
