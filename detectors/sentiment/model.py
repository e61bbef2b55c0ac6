"""Layer 4: the learned correction, River softmax regressions that keep learning online.

It starts from weights trained on the shipped data (`crisismon sentiment train` writes them
to a small gzipped JSON file) and learns from staff corrections with River's ``learn_one``.
JSON rather than pickle: the file is readable, diffable, and does not depend on River's
internal classes staying the same between versions.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from river import linear_model, optim

from detectors.config import ConfigError
from detectors.sentiment.base import LABELS
from detectors.sentiment.features import HASH_BUCKETS

FORMAT = "crisismon-sentiment-model/1"


class CorrectionModel:
    """Two River softmax regressions whose scores add up.

    * the base model, over all of `features`, is trained offline (`learn_one`) and shipped;
    * the staff model, over the hashed n-grams only, starts empty and learns from staff
      corrections (`learn_correction`), so that a correction moves texts that share its
      words, not every text. Its learning rate is high because n-gram values are small
      (their squares sum to 0.09): one step moves a corrected text's scores by about 0.3.

    >>> model = CorrectionModel()
    >>> x = {"bias": 1.0, "h1": 0.7, "h2": 0.7}
    >>> round(model.predict_proba_one(x)["negative"], 3)
    0.333
    >>> for _ in range(3):
    ...     model.learn_correction(x, "negative")
    >>> model.predict_one(x)
    'negative'

    A text that shares no word with the correction is not moved by it:

    >>> round(model.predict_proba_one({"bias": 1.0, "h3": 1.0})["negative"], 3)
    0.333
    """

    def __init__(
        self, learning_rate: float = 0.05, l2: float = 0.0, staff_learning_rate: float = 5.0
    ) -> None:
        self.learning_rate = learning_rate
        self.l2 = l2
        self.staff_learning_rate = staff_learning_rate
        self._base = linear_model.SoftmaxRegression(optimizer=optim.SGD(learning_rate), l2=l2)
        self._staff = linear_model.SoftmaxRegression(optimizer=optim.SGD(staff_learning_rate))
        for label in LABELS:  # every label has weights from the start, so all are predicted
            self._base.weights[label]
            self._staff.weights[label]
        self.metadata: dict[str, Any] = {}
        # Base plus staff weights, one (negative, neutral, positive) triple per feature: one
        # dict lookup per feature instead of six. Kept in step after every learning step
        # (River's learn_one only changes the weights of the features in its x).
        self._table: dict[str, tuple[float, float, float]] = {}

    def predict_proba_one(self, x: Mapping[str, float]) -> dict[str, float]:
        table = self._table
        neg = neu = pos = 0.0
        for key, value in x.items():
            triple = table.get(key)
            if triple is not None:
                neg += triple[0] * value
                neu += triple[1] * value
                pos += triple[2] * value
        top = max(neg, neu, pos)
        e_neg, e_neu, e_pos = math.exp(neg - top), math.exp(neu - top), math.exp(pos - top)
        total = e_neg + e_neu + e_pos
        return {"negative": e_neg / total, "neutral": e_neu / total, "positive": e_pos / total}

    def predict_one(self, x: Mapping[str, float]) -> str:
        proba = self.predict_proba_one(x)
        return max(LABELS, key=lambda label: proba[label])

    def learn_one(self, x: Mapping[str, float], y: str) -> None:
        """One offline training step of the base model."""
        _check(y)
        self._base.learn_one(x, y)
        self._refresh(x)

    def learn_correction(self, x: Mapping[str, float], y: str) -> None:
        """One step of the staff model towards a staff member's label."""
        _check(y)
        grams = {k: v for k, v in x.items() if _hashed(k)}
        if grams:
            self._staff.learn_one(grams, y)
            self._refresh(grams)

    def _refresh(self, keys: Iterable[str]) -> None:
        base = [self._base.weights[label] for label in LABELS]
        staff = [self._staff.weights[label] for label in LABELS]
        for key in keys:
            self._table[key] = (
                base[0].get(key, 0.0) + staff[0].get(key, 0.0),
                base[1].get(key, 0.0) + staff[1].get(key, 0.0),
                base[2].get(key, 0.0) + staff[2].get(key, 0.0),
            )

    def weights(self) -> dict[str, dict[str, float]]:
        """The base model's weights (staff corrections are relearnt from SQL, not saved)."""
        return {label: dict(self._base.weights[label]) for label in LABELS}

    def save(self, path: Path) -> None:
        """Write gzipped JSON, weights rounded to 3 decimals.

        Hashed n-gram weights (``h<bucket>``) go in one dense list per label, the few named
        features in a mapping: that keeps the shipped file a few hundred kilobytes.
        """
        payload = {
            "format": FORMAT,
            "learning_rate": self.learning_rate,
            "l2": self.l2,
            "staff_learning_rate": self.staff_learning_rate,
            "hash_buckets": HASH_BUCKETS,
            "metadata": self.metadata,
            "weights": {label: _pack(ws) for label, ws in self.weights().items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(payload, separators=(",", ":")).encode()
        # mtime=0: the same weights always give the same bytes, so a retrain diffs cleanly.
        path.write_bytes(gzip.compress(data, mtime=0))

    @classmethod
    def load(cls, path: Path) -> CorrectionModel:
        try:
            payload = json.loads(gzip.decompress(path.read_bytes()))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: sentiment model not found") from exc
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a sentiment model file: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ConfigError(f"{path}: not a sentiment model file (expected format {FORMAT})")
        if payload.get("hash_buckets") != HASH_BUCKETS:
            raise ConfigError(
                f"{path}: made for {payload.get('hash_buckets')} hash buckets, this version uses "
                f"{HASH_BUCKETS}: retrain it with `crisismon sentiment train`"
            )
        model = cls(
            learning_rate=float(payload["learning_rate"]),
            l2=float(payload["l2"]),
            staff_learning_rate=float(payload["staff_learning_rate"]),
        )
        model.metadata = dict(payload.get("metadata", {}))
        keys: set[str] = set()
        for label in LABELS:
            weights = _unpack(payload["weights"][label])
            model._base.weights[label].update(weights)
            keys.update(weights)
        model._refresh(keys)
        return model


def _check(label: str) -> None:
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}, got {label!r}")


def _hashed(key: str) -> bool:
    return key.startswith("h") and key[1:].isdigit()


def _pack(weights: dict[str, float]) -> dict[str, Any]:
    hashed = [0.0] * HASH_BUCKETS
    named: dict[str, float] = {}
    for key, weight in weights.items():
        if _hashed(key):
            hashed[int(key[1:])] = round(weight, 3)
        else:
            named[key] = round(weight, 4)
    return {"named": dict(sorted(named.items())), "hashed": [w if w else 0 for w in hashed]}


def _unpack(packed: dict[str, Any]) -> dict[str, float]:
    weights = {key: float(w) for key, w in packed["named"].items()}
    weights.update({f"h{i}": float(w) for i, w in enumerate(packed["hashed"]) if w})
    return weights
