"""The taught layer: a deployment's own labelled posts, fitted at once on top of the scorer.

`crisismon sentiment teach` hands every label a deployment has to `TaughtLayer.fit`. The
layer is a softmax regression *stacked on the general scorer*: its logits are added to the
log-probabilities the general model (and staff corrections) already give, so with no weights
it changes nothing, and L2 pulls every weight towards "agree with the general model". It reads:

* the general model's own probabilities (how far to trust it on this kind of text),
* the rule layers' signals and a few customer-service patterns that carry across businesses
  (`service_patterns`: a service verb negated, waiting and repetition, a question to the
  company, a polite or thankful complaint, praise before "but"),
* the same hashed words and word pairs as the general model, more strongly regularised,
* one bias per class: the domain's own mix of negative, neutral and positive posts.

The fit is batch and deterministic (L-BFGS on the full labelled set, classes weighted
equally), so teaching the same labels twice gives the same layer. It is saved as versioned
gzipped JSON, never pickle. Chosen on a tuning split of two public review domains; see
docs/sentiment.md, "Teaching it your customers' language".
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from detectors.sentiment.base import LABELS
from detectors.sentiment.rules import Analysis

FORMAT = "crisismon-sentiment-taught/1"


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Service verbs that, negated, are a complaint however mild the words: "can't get through".
_SERVICE_VERBS = _set(
    "get reach help answer answered respond responded reply replied work works worked working "
    "arrive arrived come came fix fixed refund refunded call called find found deliver "
    "delivered connect load open charge send sent ship shipped receive received return "
    "returned activate activated fit fits last lasted hold stay turn"
)
_NEGATORS = _set(
    "not no never cannot can't won't wouldn't couldn't didn't doesn't don't isn't wasn't "
    "aren't weren't haven't hasn't hadn't shouldn't nobody nothing unable"
)
_REPEAT = _set("still again yet anymore already keeps keep kept repeatedly")
_WAIT = _set("waiting waited wait hours days weeks months minutes hold")
_QUESTION_WORDS = _set("why when how where what who")
_YOU = _set("you your you're u")
_POLITE = _set("please kindly thanks thank")
_CONTRAST = _set("but however although though")
_PRAISE = _set("great good nice love lovely amazing awesome beautiful fine ok")


def service_patterns(analysis: Analysis, text: str) -> dict[str, float]:
    """Customer-service cues that are not single words, as 0/1 features ("sp_" keys).

    >>> from detectors.sentiment.rules import Analysis
    >>> text = "why can't you find my parcel?"
    >>> sorted(service_patterns(Analysis(compound=0.0, tokens=text[:-1].split()), text))
    ['sp_negated_service', 'sp_question_to_company']
    """
    tokens = analysis.tokens
    present = set(tokens)
    out: dict[str, float] = {}
    if not present.isdisjoint(_SERVICE_VERBS) and not present.isdisjoint(_NEGATORS):
        for i, token in enumerate(tokens):
            if token in _SERVICE_VERBS and not _NEGATORS.isdisjoint(tokens[max(0, i - 3) : i]):
                out["sp_negated_service"] = 1.0
                break
    if not present.isdisjoint(_REPEAT):
        out["sp_repeat"] = 1.0
    if not present.isdisjoint(_WAIT) and any(t.isdigit() for t in tokens):
        out["sp_wait_number"] = 1.0
    if "?" in text and not present.isdisjoint(_QUESTION_WORDS) and not present.isdisjoint(_YOU):
        out["sp_question_to_company"] = 1.0
    if not present.isdisjoint(_POLITE) and (
        analysis.negative_mass > 0.5 or "sp_negated_service" in out
    ):
        out["sp_polite_complaint"] = 1.0
    if not present.isdisjoint(_CONTRAST):
        out["sp_contrast"] = 1.0
        contrast = next(i for i, t in enumerate(tokens) if t in _CONTRAST)
        if not _PRAISE.isdisjoint(tokens[:contrast]):
            out["sp_praise_then_but"] = 1.0
    return out


@dataclass(frozen=True)
class Recipe:
    """How strongly the taught layer may depart from the general model (tuned, see module)."""

    # L2 on the named features (rule signals, patterns, the general model's log-odds).
    named_l2: float = 3.0
    # L2 on hashed words and word pairs: strong, so a word needs several labels to matter.
    ngram_l2: float = 0.1
    # L2 on the per-class biases: weak, the domain's class mix is learnt from few labels.
    bias_l2: float = 0.3
    # Hashed n-gram values are multiplied by this (the general features carry 0.3/sqrt(n)).
    ngram_scale: float = 3.0
    # Class weights are (n / (classes × count))^balance: 1 weighs classes equally (macro-F1),
    # 0 keeps the taught mix as it is (the biases then carry the domain's class priors).
    balance: float = 0.5
    # Extra weight on negative labels: a missed complaint costs more than a false alarm.
    negative_weight: float = 1.5
    # The gate (see `TaughtLayer.gate`): full strength from this quantile of the taught
    # texts' own familiarity, none below `gate_floor` times that.
    gate_quantile: float = 0.25
    gate_floor: float = 0.9
    # N-grams in fewer taught texts than this get no weight (fewer weights, faster fit).
    min_texts: int = 2
    max_iterations: int = 300


@dataclass
class TaughtLayer:
    """Weights added to the general model's logits; empty weights change nothing."""

    weights: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    bias: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # Hashed words and word pairs that several taught texts share (not the most common ones).
    known: frozenset[str] = frozenset()
    gate_low: float = 0.0
    gate_high: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One lookup per feature when scoring: the three weights and whether it is familiar.
        self._table: dict[str, tuple[float, float, float, int]] = {
            key: (*ws, int(key in self.known)) for key, ws in self.weights.items()
        }
        for key in self.known - self.weights.keys():
            self._table[key] = (0.0, 0.0, 0.0, 1)

    def gate(self, grams: int, familiar: int) -> float:
        """How much of the layer applies to a text, 0 to 1, from the share of its words and
        word pairs (``grams``) that the taught texts share (``familiar``), against the taught
        texts' own share.

        A text unlike the taught ones (another kind of text, another business) keeps the
        general model's reading, so one domain's labels do not spoil others.
        """
        if not grams:
            return 0.0
        share = familiar / grams
        if share >= self.gate_high:
            return 1.0
        if share <= self.gate_low:
            return 0.0
        return (share - self.gate_low) / (self.gate_high - self.gate_low)

    def adjust(
        self,
        proba: Mapping[str, float],
        x: Mapping[str, float],
        patterns: Callable[[], Mapping[str, float]],
    ) -> dict[str, float]:
        """The general model's probabilities with this layer's logits added.

        ``x`` are the general model's features; ``patterns`` gives `service_patterns` of the
        text, called only when the layer applies.
        """
        table = self._table
        neg = neu = pos = 0.0
        grams = familiar = 0
        for key, value in x.items():
            if key[0] == "h":  # hashed n-grams are the only features named h...
                grams += 1
            entry = table.get(key)
            if entry is not None:
                neg += entry[0] * value
                neu += entry[1] * value
                pos += entry[2] * value
                familiar += entry[3]
        gate = self.gate(grams, familiar)
        if gate <= 0.0:
            return dict(proba)
        for extra in (general_log_odds(proba), patterns()):
            for key, value in extra.items():
                entry = table.get(key)
                if entry is not None:
                    neg += entry[0] * value
                    neu += entry[1] * value
                    pos += entry[2] * value
        b = self.bias
        logs = [
            math.log(max(proba.get("negative", 0.0), 1e-9)) + gate * (neg + b[0]),
            math.log(max(proba.get("neutral", 0.0), 1e-9)) + gate * (neu + b[1]),
            math.log(max(proba.get("positive", 0.0), 1e-9)) + gate * (pos + b[2]),
        ]
        top = max(logs)
        exps = [math.exp(v - top) for v in logs]
        total = sum(exps)
        return {label: e / total for label, e in zip(LABELS, exps, strict=True)}

    def to_bytes(self) -> bytes:
        payload = {
            "format": FORMAT,
            "bias": [round(b, 5) for b in self.bias],
            "known": sorted(int(key[1:]) for key in self.known),
            "gate": [round(self.gate_low, 5), round(self.gate_high, 5)],
            "weights": {k: [round(w, 5) for w in ws] for k, ws in sorted(self.weights.items())},
            "metadata": self.metadata,
        }
        data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        return gzip.compress(data, mtime=0)

    @classmethod
    def from_bytes(cls, state: bytes) -> TaughtLayer:
        """Read `to_bytes` output; ValueError with one readable line when it is not one."""
        try:
            payload = json.loads(gzip.decompress(state))
        except (OSError, EOFError, ValueError) as exc:
            raise ValueError(f"not a taught sentiment layer (not gzipped JSON: {exc})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            found = payload.get("format") if isinstance(payload, dict) else None
            raise ValueError(f"not a taught sentiment layer (format {found!r}, expected {FORMAT})")
        try:
            bias = _triple(payload["bias"])
            weights = {str(k): _triple(v) for k, v in dict(payload["weights"]).items()}
            known = frozenset(f"h{int(bucket)}" for bucket in payload["known"])
            low, high = (float(v) for v in payload["gate"])
            metadata = dict(payload.get("metadata") or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"taught sentiment layer is damaged: {exc}") from None
        return cls(weights, bias, known, low, high, metadata)


def _triple(values: Any) -> tuple[float, float, float]:
    items = [float(v) for v in values]
    if len(items) != 3 or not all(math.isfinite(v) for v in items):
        raise ValueError("expected three finite numbers per weight")
    return items[0], items[1], items[2]


def is_ngram(key: str) -> bool:
    return key.startswith("h") and key[1:].isdigit()


def general_log_odds(proba: Mapping[str, float]) -> dict[str, float]:
    """The general model's log-odds of negative and positive against neutral."""
    neutral = math.log(max(proba.get("neutral", 0.0), 1e-6))
    return {
        "g_negative": math.log(max(proba.get("negative", 0.0), 1e-6)) - neutral,
        "g_positive": math.log(max(proba.get("positive", 0.0), 1e-6)) - neutral,
    }


def base_proba(
    weights: Mapping[str, Mapping[str, float]], x: Mapping[str, float]
) -> dict[str, float]:
    """The shipped model's probabilities from its weights alone, without staff corrections:
    what the taught layer is fitted against, so that the order in which a worker learnt
    corrections and labels does not change the layer."""
    logits = [sum(weights[label].get(k, 0.0) * v for k, v in x.items()) for label in LABELS]
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    return {label: e / total for label, e in zip(LABELS, exps, strict=True)}


def layer_inputs(
    x: Mapping[str, float], proba: Mapping[str, float], patterns: Mapping[str, float]
) -> dict[str, float]:
    """The taught layer's features for fitting: the general ones, the general model's
    log-odds against neutral, and the service patterns (what `TaughtLayer.adjust` reads)."""
    out = {k: v for k, v in x.items() if k != "bias"}
    out.update(general_log_odds(proba))
    out.update(patterns)
    return out


def fit(
    rows: Sequence[tuple[Mapping[str, float], Mapping[str, float], str]],
    recipe: Recipe = Recipe(),
) -> TaughtLayer:
    """Fit on ``(layer inputs, general probabilities, label)`` rows; deterministic."""
    if not rows:
        return TaughtLayer()
    texts_with: dict[str, int] = {}
    for x, _, _ in rows:
        for k in x:
            texts_with[k] = texts_with.get(k, 0) + 1
    keys = sorted(k for k, c in texts_with.items() if c >= recipe.min_texts or not is_ngram(k))
    index = {k: i for i, k in enumerate(keys)}
    n, d = len(rows), len(keys)
    data, cols, indptr = [], [], [0]
    for x, _, _ in rows:
        for k, v in x.items():
            column = index.get(k)
            if column is not None:
                cols.append(column)
                data.append(v * recipe.ngram_scale if is_ngram(k) else v)
        indptr.append(len(cols))
    features = sp.csr_matrix((data, cols, indptr), shape=(n, d))
    offset = np.log(
        np.clip([[p.get(label, 0.0) for label in LABELS] for _, p, _ in rows], 1e-9, 1.0)
    )
    y = np.array([LABELS.index(label) for _, _, label in rows])
    onehot = np.eye(3)[y]
    counts = np.bincount(y, minlength=3).astype(float)
    present = counts > 0
    # Classes weighted equally (macro-F1 weighs them so); a class without labels weighs 0.
    ratio = n / (present.sum() * np.maximum(counts, 1.0))
    class_weight = np.where(present, ratio**recipe.balance, 0.0)
    class_weight[LABELS.index("negative")] *= recipe.negative_weight
    sample_weight = class_weight[y]
    l2 = np.array([recipe.ngram_l2 if is_ngram(k) else recipe.named_l2 for k in keys])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: 3 * d].reshape(d, 3)
        b = theta[3 * d :]
        z = offset + features @ w + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -float((sample_weight * (onehot * logp).sum(axis=1)).sum())
        value += 0.5 * float((l2[:, None] * w * w).sum()) + 0.5 * recipe.bias_l2 * float(b @ b)
        residual = (np.exp(logp) - onehot) * sample_weight[:, None]
        grad_w = features.T @ residual + l2[:, None] * w
        grad_b = residual.sum(axis=0) + recipe.bias_l2 * b
        return value, np.concatenate([np.asarray(grad_w).ravel(), grad_b])

    result = minimize(
        loss,
        np.zeros(3 * d + 3),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": recipe.max_iterations},
    )
    w = result.x[: 3 * d].reshape(d, 3)
    b = result.x[3 * d :]
    # The n-gram scale is folded into their weights, so scoring reads the general features as
    # they are.
    scale = np.array([recipe.ngram_scale if is_ngram(k) else 1.0 for k in keys])
    w = w * scale[:, None]
    # Rounded as saved, so a loaded layer scores exactly as the fitted one.
    w = np.round(w, 5)
    weights = {
        key: (float(row[0]), float(row[1]), float(row[2]))
        for key, row in zip(keys, w, strict=True)
        if np.abs(row).max() > 0
    }
    known, low, high = _gate(rows, recipe)
    metadata = {"labels": {label: int(c) for label, c in zip(LABELS, counts, strict=True)}}
    b = np.round(b, 5)
    bias = (float(b[0]), float(b[1]), float(b[2]))
    low, high = round(low, 5), round(high, 5)
    return TaughtLayer(weights, bias, known, low, high, metadata)


def _gate(
    rows: Sequence[tuple[Mapping[str, float], Mapping[str, float], str]], recipe: Recipe
) -> tuple[frozenset[str], float, float]:
    """The familiar n-grams (in at least 2 taught texts, at most 30% of them: not "the"), and
    the gate's thresholds from the taught texts' own familiarity, each text left out of the
    counts of its own n-grams (so it needs 3 texts, itself and 2 others)."""
    grams = [{key for key in x if is_ngram(key)} for x, _, _ in rows]
    counts: dict[str, int] = {}
    for keys in grams:
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    common = 0.3 * len(rows)
    known = frozenset(key for key, c in counts.items() if 2 <= c <= common)
    shares = sorted(
        sum(1 for key in keys if 3 <= counts[key] <= common) / len(keys) for keys in grams if keys
    )
    if not shares:
        return known, 0.0, 0.0
    high = shares[int(len(shares) * recipe.gate_quantile)]
    return known, high * recipe.gate_floor, high
