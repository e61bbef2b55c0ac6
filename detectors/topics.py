"""Topics and products from ``config/topics.yaml``: which ones a mention's text talks about.

Phrases match whole words on normalised text (case, accents, punctuation and spacing do not
matter), so "Charged  TWICE!" counts for "charged twice" and "logins" does not count for
"login". One regular expression covers every phrase, so a mention is scanned once however many
topics there are; where two phrases overlap at one place the longer one wins.

>>> topics = Topics.of({"billing": ["charged twice", "refund"]}, {"acme-pay": ["Acme Pay"]})
>>> topics.topics_in("I was CHARGED twice by acme-pay!")
('billing',)
>>> topics.products_in("I was CHARGED twice by acme-pay!", product=None)
('acme-pay',)
>>> topics.topics_in("refunds are slow")
()
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from monitor.yamlfile import ConfigFileError, load

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,49}$"
_NON_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=1024)  # topics and products of one mention read the same text in turn
def normalise(text: str) -> str:
    """Casefolded words without accents, separated by single spaces.

    >>> normalise("  Café-Login:  FAILED ")
    'cafe login failed'
    """
    folded = text.casefold()
    if not folded.isascii():  # most texts are ASCII: no accents to strip
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", folded).strip()


def _valid_name(name: str) -> str:
    if not re.match(NAME_PATTERN, name):
        raise ValueError(
            f"name {name!r} must be 1-50 of a-z, 0-9, '_', '-' and start alphanumeric "
            "(it becomes part of a series name)"
        )
    return name


def _valid_phrase(phrase: object) -> str:
    # YAML reads `503` as a number; an error code is a fine phrase.
    if isinstance(phrase, int | float) and not isinstance(phrase, bool):
        phrase = str(phrase)
    if not isinstance(phrase, str) or not normalise(phrase):
        raise ValueError(f"phrase {phrase!r} needs letters or digits")
    return phrase


Name = Annotated[str, AfterValidator(_valid_name)]
Phrases = Annotated[list[Annotated[str, BeforeValidator(_valid_phrase)]], Field(min_length=1)]


class TopicsFile(BaseModel):
    """``topics: {name: [phrases]}`` and ``products: {name: [names and aliases]}``."""

    model_config = ConfigDict(extra="forbid")

    topics: dict[Name, Phrases] = Field(default_factory=dict)
    products: dict[Name, Phrases] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Matcher:
    """One alternation of every phrase (longest first); each phrase maps to its names."""

    pattern: re.Pattern[str] | None
    names_of: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, phrases_by_name: Mapping[str, Sequence[str]]) -> _Matcher:
        names_of: dict[str, list[str]] = {}
        for name, phrases in phrases_by_name.items():
            for phrase in phrases:
                names = names_of.setdefault(normalise(phrase), [])
                if name not in names:
                    names.append(name)
        if not names_of:
            return cls(None, {})
        alternatives = "|".join(re.escape(p) for p in sorted(names_of, key=len, reverse=True))
        pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        return cls(pattern, {p: tuple(n) for p, n in names_of.items()})

    def find(self, normalised: str) -> tuple[str, ...]:
        if self.pattern is None:
            return ()
        found: list[str] = []
        for match in self.pattern.finditer(normalised):
            found.extend(n for n in self.names_of[match.group()] if n not in found)
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Topics:
    """The configured topics and products, ready to match; `NO_TOPICS` matches nothing."""

    topic_names: tuple[str, ...] = ()
    product_names: tuple[str, ...] = ()
    _topics: _Matcher = field(default_factory=lambda: _Matcher(None, {}), repr=False)
    _products: _Matcher = field(default_factory=lambda: _Matcher(None, {}), repr=False)

    @classmethod
    def of(
        cls, topics: Mapping[str, Sequence[str]], products: Mapping[str, Sequence[str]]
    ) -> Topics:
        return cls(tuple(topics), tuple(products), _Matcher.of(topics), _Matcher.of(products))

    def topics_in(self, text: str) -> tuple[str, ...]:
        return self._topics.find(normalise(text))

    def products_in(self, text: str, *, product: str | None) -> tuple[str, ...]:
        """Products named in the text, and the one the source tagged (when it is configured)."""
        found = self._products.find(normalise(text))
        if not product:
            return found
        tagged = normalise(product)
        slug = tagged.replace(" ", "-")
        extra = [
            *self._products.names_of.get(tagged, ()),
            *([slug] if slug in self.product_names else []),
        ]
        return found + tuple(n for n in dict.fromkeys(extra) if n not in found)


NO_TOPICS = Topics()


def load_topics(path: Path) -> Topics:
    """Read ``topics.yaml``; a missing file means no topics, a bad one names its line."""
    if not path.exists():
        return NO_TOPICS
    located = load(path)
    if not isinstance(located.data, dict):
        raise ConfigFileError(f"{path}:1: expected a mapping with topics: and products:")
    config = located.validate(TopicsFile)
    return Topics.of(config.topics, config.products)
