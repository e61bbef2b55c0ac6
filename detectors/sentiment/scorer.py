"""The default scorer, in layers: VADER, the customer-service lexicon, sarcasm and complaint
patterns, and a learned correction that keeps learning from staff corrections.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

from detectors.sentiment import taught
from detectors.sentiment.base import LABELS, UNSCORED, Sentiment, label_for
from detectors.sentiment.features import features
from detectors.sentiment.language import LanguageDetector, normalise_tag
from detectors.sentiment.lexicon import Lexicon, LexiconFile
from detectors.sentiment.model import CorrectionModel
from detectors.sentiment.rules import Analysis, analyse
from detectors.sentiment.text import words

# The starting model that ships with crisismon, made by `crisismon sentiment train`.
SHIPPED_MODEL = Path(__file__).resolve().parent / "data" / "model.json.gz"


class RuleScorer:
    """Layers 1–3 without the learned correction; labels by VADER's cut-offs.

    English is VADER plus ``lexicons["en"]``; another language is scored with its own lexicon
    when there is one, and is ``unscored`` otherwise.
    """

    def __init__(
        self, lexicons: dict[str, Lexicon], detector: LanguageDetector | None = None
    ) -> None:
        self.lexicons = dict(lexicons)
        self.lexicons.setdefault("en", Lexicon.from_file("en", LexiconFile()))
        self.detector = detector or LanguageDetector()
        self._vader = SentimentIntensityAnalyzer()
        self._negate = frozenset(NEGATE)

    @property
    def languages(self) -> list[str]:
        return sorted(self.lexicons)

    def language_of(self, text: str, lang: str | None) -> str:
        """The mention's own language tag when it has one, else the detector's guess.

        When the detector is unsure (short texts), the default language wins, unless a
        likely candidate's lexicon recognises words the default language's does not:
        "péssimo atendimento" is Portuguese, although the detector gives it only 0.4.
        """
        tagged = normalise_tag(lang)
        if tagged is not None:
            return tagged
        detector = self.detector
        found = detector.candidates(text)
        if not found:
            return detector.default
        if found[0][1] >= detector.min_confidence:
            return found[0][0]
        default = self.analyse(text, detector.default)
        if default is not None and default.evidence:
            return detector.default
        tokens = words(text)
        for candidate, _ in found:
            lexicon = self.lexicons.get(candidate)
            if candidate != detector.default and lexicon and lexicon.terms.find(tokens):
                return candidate
        return detector.default

    def analyse(self, text: str, lang: str) -> Analysis | None:
        """The rule layers' reading of ``text`` in ``lang``; None when no lexicon covers it."""
        lexicon = self.lexicons.get(lang)
        if lexicon is None:
            return None
        if lang != "en":
            return analyse(text, lexicon)
        base = float(self._vader.polarity_scores(text)["compound"])
        return analyse(
            text,
            lexicon,
            base_compound=base,
            base_valences=self._vader.lexicon,
            base_negators=self._negate,
        )

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        resolved = self.language_of(text, lang)
        analysis = self.analyse(text, resolved)
        if analysis is None:
            return unscored(resolved)
        label = label_for(analysis.compound)
        return Sentiment(
            compound=round(analysis.compound, 4),
            label=label,
            confidence=round(min(1.0, abs(analysis.compound)), 4),
            drivers=analysis.drivers(label),
            lang=resolved,
        )


class CustomerServiceScorer:
    """The default scorer: `RuleScorer` evidence, then the learned correction decides.

    The label is the most probable of negative, neutral and positive; ``compound`` is
    P(positive) − P(negative) and ``confidence`` the label's probability. `learn` applies a
    staff correction; it is safe to call while another thread scores.
    """

    def __init__(self, rules: RuleScorer, model: CorrectionModel, *, max_steps: int = 20) -> None:
        self.rules = rules
        self.model = model
        self.max_steps = max_steps
        self._lock = threading.Lock()
        # The taught layer, fitted from the business's own labels (`teach`); None until then.
        self._taught: taught.TaughtLayer | None = None

    @property
    def languages(self) -> list[str]:
        return self.rules.languages

    def score(self, text: str, lang: str | None = None) -> Sentiment:
        resolved = self.rules.language_of(text, lang)
        analysis = self.rules.analyse(text, resolved)
        if analysis is None:
            return unscored(resolved)
        x = features(analysis, resolved)
        with self._lock:
            proba = self.model.predict_proba_one(x)
            layer = self._taught
        if layer is not None:
            proba = layer.adjust(proba, x, lambda: taught.service_patterns(analysis, text))
        label = max(LABELS, key=lambda name: proba.get(name, 0.0))
        compound = proba.get("positive", 0.0) - proba.get("negative", 0.0)
        return Sentiment(
            compound=round(compound, 4),
            label=label,
            confidence=round(proba[label], 4),
            drivers=analysis.drivers(label),
            lang=resolved,
        )

    def learn(self, text: str, label: str, lang: str | None = None) -> int:
        """Learn that ``text`` is ``label``; return how many learning steps it took.

        One step always; more while the model still disagrees, up to ``max_steps``.
        Texts in a language without a lexicon teach nothing (0 steps).
        """
        if label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
        resolved = self.rules.language_of(text, lang)
        analysis = self.rules.analyse(text, resolved)
        if analysis is None:
            return 0
        x = features(analysis, resolved)
        steps = 0
        with self._lock:
            while steps < self.max_steps:
                self.model.learn_correction(x, label)
                steps += 1
                if self.model.predict_one(x) == label:
                    break
        return steps

    def teach(self, examples: Sequence[tuple[str, str, str | None]]) -> None:
        """Fit the taught layer from all of ``examples`` (text, label, lang) at once,
        replacing the previous one; no examples remove it. Deterministic: the same labels
        always give the same layer (see `detectors.sentiment.taught`)."""
        with self._lock:
            general = self.model.weights()
        rows = []
        for text, label, lang in examples:
            if label not in LABELS:
                raise ValueError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
            resolved = self.rules.language_of(text, lang)
            analysis = self.rules.analyse(text, resolved)
            if analysis is None:
                continue
            x = features(analysis, resolved)
            proba = taught.base_proba(general, x)
            inputs = taught.layer_inputs(x, proba, taught.service_patterns(analysis, text))
            rows.append((inputs, proba, label))
        layer = taught.fit(rows) if rows else None
        with self._lock:
            self._taught = layer

    def taught_state(self) -> bytes:
        """The taught layer alone (versioned gzipped JSON), as bytes `load_taught` accepts;
        empty when nothing is taught."""
        layer = self._taught
        return layer.to_bytes() if layer is not None else b""

    def load_taught(self, state: bytes) -> None:
        """Replace the taught layer with one from `taught_state` (empty: none); ValueError
        with a readable message if ``state`` is not one."""
        layer = taught.TaughtLayer.from_bytes(state) if state else None
        with self._lock:
            self._taught = layer


def unscored(lang: str) -> Sentiment:
    return Sentiment(compound=0.0, label=UNSCORED, confidence=0.0, drivers=(), lang=lang)


def build_scorer(config_dir: Path, model_path: Path | None = None) -> CustomerServiceScorer:
    """The default scorer from a config folder and a model file (the shipped one by default)."""
    from detectors.sentiment.config import load_all

    config, lexicons = load_all(config_dir)
    detector = LanguageDetector(
        default=config.language.default, min_confidence=config.language.min_confidence
    )
    return CustomerServiceScorer(
        RuleScorer(lexicons, detector),
        CorrectionModel.load(model_path or SHIPPED_MODEL),
        max_steps=config.corrections.max_steps,
    )
