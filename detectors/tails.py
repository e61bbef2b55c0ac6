"""Tail probabilities of count distributions, in closed form (microseconds, no scipy.stats).

>>> round(surprise(poisson_upper(10, 2.0)), 2)
4.33
>>> nb_lower(0, mean=30.0, size=5.0) < 1e-3
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betainc, betaln, gammaln, ndtr, pdtrc
from scipy.stats import betabinom, nbinom, poisson

MAX_SURPRISE = 50.0  # -log10 of a p-value that underflows; keeps scores finite


def surprise(p_value: float) -> float:
    """-log10 p, capped: 5 means "about 1 in 100,000"."""
    if p_value <= 0.0 or math.isnan(p_value):
        return MAX_SURPRISE
    return min(-math.log10(p_value), MAX_SURPRISE)


def poisson_upper(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    return float(pdtrc(k - 1, mean)) if k > 0 else 1.0


def nb_upper(k: int, *, mean: float, size: float | None) -> float:
    """P(X >= k) for a negative binomial with this mean and size (None: Poisson)."""
    if size is None:
        return poisson_upper(k, mean)
    if k <= 0:
        return 1.0
    # P(X >= k) = I_{1-p}(k, size), with p = size / (size + mean).
    return float(betainc(k, size, mean / (size + mean)))


def nb_lower(k: int, *, mean: float, size: float | None) -> float:
    """P(X <= k) for a negative binomial with this mean and size (None: Poisson)."""
    if k < 0:
        return 0.0
    return 1.0 - nb_upper(k + 1, mean=mean, size=size)


def beta_binomial_upper(k: int, n: int, alpha: float, beta: float) -> float:
    """P(X >= k) for X ~ BetaBinomial(n, alpha, beta), summed in log space."""
    j = np.arange(k, n + 1)
    log_pmf = (
        gammaln(n + 1) - gammaln(j + 1) - gammaln(n - j + 1)
        + betaln(j + alpha, n - j + beta) - betaln(alpha, beta)
    )  # fmt: skip
    return float(np.exp(log_pmf).sum())


def normal_lower(z: float) -> float:
    """P(Z <= z) for a standard normal."""
    return float(ndtr(z))


def nb_size(mean: float, var: float) -> float | None:
    """The negative binomial size for this mean and variance; None (Poisson) when the counts are
    not over-dispersed."""
    return mean * mean / (var - mean) if var > mean * 1.05 else None


def count_band(mean: float, size: float | None, coverage: float) -> tuple[float, float]:
    """The central ``coverage`` range of a Poisson (size None) or negative binomial count."""
    # Both quantiles in one call, and no frozen distribution: freezing one costs about a
    # millisecond, more than the quantiles themselves.
    tail = (1.0 - coverage) / 2
    q = np.array([tail, 1.0 - tail])
    low, high = poisson.ppf(q, mean) if size is None else nbinom.ppf(q, size, size / (size + mean))
    return float(low), float(high)


def share_band(n: int, share: float, concentration: float, coverage: float) -> tuple[float, float]:
    """The central ``coverage`` range of the share of ``n`` under a beta-binomial around
    ``share``; the whole of 0..1 for an empty window."""
    if n == 0:
        return 0.0, 1.0
    tail = (1.0 - coverage) / 2
    q = np.array([tail, 1.0 - tail])
    low, high = betabinom.ppf(q, n, share * concentration, (1.0 - share) * concentration)
    return float(low) / n, float(high) / n
