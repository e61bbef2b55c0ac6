"""Lexicons a user can edit: ``config/sentiment/<lang>.yaml``, validated on load.

Each file gives a language's words and phrases with weights on VADER's scale (-4 extremely
negative .. +4 extremely positive) and the small word lists the rules need (negators,
boosters, contrast words, sarcasm cues). For English the file is a customer-service layer on
top of VADER; for the other languages it is the whole lexicon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detectors.config import ConfigError
from detectors.sentiment.text import words
from monitor.yamlfile import not_utf8


class SarcasmCues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Praise that turns sarcastic next to a complaint: "2 hours on hold, great".
    praise: list[str] = []
    # Thanks that turns sarcastic before a complaint: "thanks for losing my bag".
    thanks: list[str] = []
    # Words that mean the complaint was dealt with, so the praise is meant: "fixed so fast".
    resolved: list[str] = []
    # Phrases that are sarcastic wherever they appear: "thanks for nothing", "so much for".
    markers: list[str] = []


class LongWait(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A number and a unit ("3 weeks", "two hours") next to one of `words` is a complaint.
    units: list[str] = []
    numbers: list[str] = []
    words: list[str] = []
    weight: float = Field(default=-1.5, ge=-4, le=0)


class LexiconFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: dict[str, float] = {}
    negators: list[str] = []
    boosters: dict[str, float] = {}
    contrast: list[str] = []
    sarcasm: SarcasmCues = SarcasmCues()
    long_wait: LongWait = LongWait()

    @field_validator("terms")
    @classmethod
    def _weights_in_range(cls, terms: dict[str, float]) -> dict[str, float]:
        for phrase, weight in terms.items():
            if not -4.0 <= weight <= 4.0:
                raise ValueError(f"{phrase!r}: weight {weight} is outside -4..4")
            if not words(phrase.rstrip("*")):
                raise ValueError(f"{phrase!r}: has no words")
        return terms


@dataclass(frozen=True, slots=True)
class Hit:
    """A lexicon entry found in a text: tokens[start:end], with its weight."""

    start: int
    end: int
    weight: float
    phrase: str


class PhraseTable:
    """Finds words and multi-word phrases in a token list, longest match first.

    A trailing ``*`` matches any word with that prefix (``decepcion*``).

    >>> table = PhraseTable({"on hold": -1.5, "hold": 0.1, "refund*": -0.5})
    >>> [(h.phrase, h.weight) for h in table.find(["still", "on", "hold", "refunds"])]
    [('on hold', -1.5), ('refund*', -0.5)]
    """

    def __init__(self, entries: dict[str, float]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], float, str]]] = {}
        self._prefixes: dict[str, tuple[float, str]] = {}
        for phrase, weight in entries.items():
            if phrase.endswith("*") and len(words(phrase[:-1])) == 1:
                self._prefixes[words(phrase[:-1])[0]] = (weight, phrase)
                continue
            tokens = tuple(words(phrase))
            self._by_first.setdefault(tokens[0], []).append((tokens, weight, phrase))
        for candidates in self._by_first.values():
            candidates.sort(key=lambda entry: -len(entry[0]))
        self._prefix_lengths = sorted({len(p) for p in self._prefixes}, reverse=True)

    def __contains__(self, word: str) -> bool:
        return word in self._by_first

    def find(self, tokens: Sequence[str]) -> list[Hit]:
        hits: list[Hit] = []
        i, n = 0, len(tokens)
        while i < n:
            hit = self._match_at(tokens, i)
            if hit is None:
                i += 1
                continue
            hits.append(hit)
            i = hit.end
        return hits

    def _match_at(self, tokens: Sequence[str], i: int) -> Hit | None:
        for phrase_tokens, weight, phrase in self._by_first.get(tokens[i], ()):
            end = i + len(phrase_tokens)
            if tuple(tokens[i:end]) == phrase_tokens:
                return Hit(i, end, weight, phrase)
        token = tokens[i]
        for length in self._prefix_lengths:
            found = self._prefixes.get(token[:length]) if len(token) >= length else None
            if found is not None:
                return Hit(i, i + 1, found[0], found[1])
        return None


@dataclass(frozen=True)
class Lexicon:
    """One language's lexicon, ready to match."""

    lang: str
    terms: PhraseTable
    term_weights: dict[str, float]
    negators: frozenset[str]
    boosters: dict[str, float]
    contrast: frozenset[str]
    praise: frozenset[str]
    thanks: PhraseTable
    resolved: PhraseTable
    markers: PhraseTable
    wait_units: frozenset[str]
    wait_numbers: frozenset[str]
    wait_words: frozenset[str]
    long_wait_weight: float

    @classmethod
    def from_file(cls, lang: str, data: LexiconFile) -> Lexicon:
        def single(items: list[str]) -> frozenset[str]:
            return frozenset(w for item in items for w in words(item))

        return cls(
            lang=lang,
            terms=PhraseTable(data.terms),
            term_weights=dict(data.terms),
            negators=single(data.negators),
            boosters={w: v for k, v in data.boosters.items() for w in words(k)},
            contrast=single(data.contrast),
            praise=single(data.sarcasm.praise),
            thanks=PhraseTable(dict.fromkeys(data.sarcasm.thanks, 1.0)),
            resolved=PhraseTable(dict.fromkeys(data.sarcasm.resolved, 1.0)),
            markers=PhraseTable(dict.fromkeys(data.sarcasm.markers, -1.0)),
            wait_units=single(data.long_wait.units),
            wait_numbers=single(data.long_wait.numbers),
            wait_words=single(data.long_wait.words),
            long_wait_weight=data.long_wait.weight,
        )


def load_lexicon(path: Path) -> Lexicon:
    """Read ``<lang>.yaml``; every problem is reported as ``file: key: message``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(not_utf8(path, exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        data = LexiconFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
    return Lexicon.from_file(path.stem, data)


def load_lexicons(folder: Path) -> dict[str, Lexicon]:
    """Every ``<lang>.yaml`` in ``folder``, by language code."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: lexicon folder not found")
    return {path.stem: load_lexicon(path) for path in sorted(folder.glob("*.yaml"))}
