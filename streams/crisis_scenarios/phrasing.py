"""Templates with slots, filled at random: the one mechanism every text of the benchmark uses.

A template is a string with ``{slot}`` fields; each slot names a list of fillers in the same
language. Many templates times many fillers give thousands of distinct texts, so the stream
does not repeat a handful of sentences that near-duplicate collapse or term bursts would find
trivially.

>>> import random
>>> book = Phrasebook({"en": ["Hi {who}"]}, {"en": {"who": ["you", "them"]}})
>>> book.say(random.Random(1), "en") in {"Hi you", "Hi them"}
True
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_FORMATTER = string.Formatter()


@dataclass(frozen=True, slots=True)
class Phrasebook:
    """Templates per language and the fillers of their slots per language.

    A language without templates of its own falls back to English, so a kind of text never
    fails for a slice whose language it lacks (every book here has all four anyway).
    """

    templates: Mapping[str, Sequence[str]]
    slots: Mapping[str, Mapping[str, Sequence[str]]]

    def say(self, rng: random.Random, lang: str, **fixed: str) -> str:
        """One text in ``lang``; ``fixed`` pins slots (the recalled product, a city)."""
        chosen = lang if lang in self.templates else "en"
        template = rng.choice(self.templates[chosen])
        fillers = self.slots.get(chosen, {})
        values: dict[str, str] = {}
        for _literal, name, _spec, _conv in _FORMATTER.parse(template):
            if name is None or name in values:
                continue
            if name in fixed:
                values[name] = fixed[name]
            else:
                values[name] = rng.choice(fillers.get(name) or self.slots["en"][name])
        text = template.format(**values)
        return text[0].upper() + text[1:] if text else text

    def variety(self) -> int:
        """How many distinct texts the book can say at most (for tests and docs)."""
        total = 0
        for lang, templates in self.templates.items():
            fillers = self.slots.get(lang, {})
            for template in templates:
                count = 1
                for _literal, name, _spec, _conv in _FORMATTER.parse(template):
                    if name:
                        count *= len(fillers.get(name) or self.slots["en"][name])
                total += count
        return total


# How people open and close a message, per language: sentence-ending so that the text after
# them keeps its capital letter. They multiply the variety of every book by about twenty.
_OPENERS = {
    "en": ["Hi team!", "Hello.", "Hey there!", "Morning!", "Hi!", "Good afternoon.", "Hey."],
    "de": ["Hallo!", "Guten Tag.", "Hi!", "Moin!", "Servus."],
    "fr": ["Bonjour !", "Salut !", "Bonsoir.", "Hello !"],
    "es": ["¡Hola!", "Buenas.", "Buenos días.", "¡Hola equipo!"],
}
_CLOSERS = {
    "en": ["Thanks!", "Thank you.", "Cheers", "Any ideas?", "Thx", ":)", "🙏", "Regards, Sam"],
    "de": ["Danke!", "Vielen Dank.", "Grüße", "Jemand eine Idee?", "LG"],
    "fr": ["Merci !", "Merci d'avance.", "Cordialement", "Une idée ?", "Bonne journée"],
    "es": ["¡Gracias!", "Saludos", "¿Alguna idea?", "Un saludo"],
}


def decorate(rng: random.Random, lang: str, text: str, *, chance: float = 0.5) -> str:
    """Sometimes a greeting before and a sign-off after, as people write them.

    >>> decorate(random.Random(3), "en", "How do I export?", chance=1.0)
    'Hi! How do I export? Regards, Sam'
    """
    openers = _OPENERS.get(lang, _OPENERS["en"])
    closers = _CLOSERS.get(lang, _CLOSERS["en"])
    if rng.random() < chance:
        text = f"{rng.choice(openers)} {text}"
    if rng.random() < chance:
        text = f"{text} {rng.choice(closers)}"
    return text
