"""The baseline the taught layer must beat (issue 17): TF-IDF logistic regression stacked on
today's scorer.

Word unigrams and bigrams weighted by TF-IDF (vocabulary and IDF from the taught texts only,
each row L2-normalised), plus the general scorer's three class probabilities, into a plain
multinomial logistic regression (L2 with C = 1, intercepts not penalised, no class weights):
what scikit-learn's ``LogisticRegression()`` does by default, written with numpy and scipy,
which crisismon already depends on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from detectors.sentiment.base import LABELS
from detectors.sentiment.text import words

# (text, general probabilities)
Row = tuple[str, Mapping[str, float]]


def grams(text: str) -> list[str]:
    tokens = words(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


class StackedTfidfLogistic:
    def __init__(self, c: float = 1.0, max_iterations: int = 500) -> None:
        self.c = c
        self.max_iterations = max_iterations
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0)
        self.weights = np.zeros((0, 3))
        self.intercept = np.zeros(3)

    def fit(self, rows: Sequence[Row], labels: Sequence[str]) -> StackedTfidfLogistic:
        documents = [set(grams(text)) for text, _ in rows]
        counts: dict[str, int] = {}
        for document in documents:
            for gram in document:
                counts[gram] = counts.get(gram, 0) + 1
        n = len(rows)
        vocabulary = sorted(counts)
        self.vocabulary = {gram: i for i, gram in enumerate(vocabulary)}
        # scikit-learn's smooth IDF: ln((1 + n) / (1 + df)) + 1.
        self.idf = np.array([math.log((1 + n) / (1 + counts[g])) + 1 for g in vocabulary])
        x = self.matrix(rows)
        onehot = np.eye(3)[[LABELS.index(label) for label in labels]]
        d = x.shape[1]

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[: 3 * d].reshape(d, 3), theta[3 * d :]
            z = x @ w + b
            z -= z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            value = -self.c * float((onehot * logp).sum()) + 0.5 * float((w * w).sum())
            residual = self.c * (np.exp(logp) - onehot)
            grad = np.concatenate([np.asarray(x.T @ residual + w).ravel(), residual.sum(axis=0)])
            return value, grad

        result = minimize(
            loss,
            np.zeros(3 * d + 3),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iterations},
        )
        self.weights = result.x[: 3 * d].reshape(d, 3)
        self.intercept = result.x[3 * d :]
        return self

    def matrix(self, rows: Sequence[Row]) -> sp.csr_matrix:
        size = len(self.vocabulary)
        data: list[float] = []
        columns: list[int] = []
        starts = [0]
        for text, proba in rows:
            tf: dict[int, int] = {}
            for gram in grams(text):
                j = self.vocabulary.get(gram)
                if j is not None:
                    tf[j] = tf.get(j, 0) + 1
            values = {j: count * self.idf[j] for j, count in tf.items()}
            norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
            for j, value in values.items():
                columns.append(j)
                data.append(value / norm)
            for k, label in enumerate(LABELS):
                columns.append(size + k)
                data.append(proba.get(label, 1 / 3))
            starts.append(len(columns))
        return sp.csr_matrix((data, columns, starts), shape=(len(rows), size + 3))

    def predict(self, rows: Sequence[Row]) -> list[str]:
        z = self.matrix(rows) @ self.weights + self.intercept
        return [LABELS[int(i)] for i in np.asarray(z).argmax(axis=1)]
