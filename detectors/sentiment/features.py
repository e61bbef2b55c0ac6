"""River feature dicts for the learned correction: rule-layer signals plus hashed n-grams.

The same features serve every language: the rule layers' compound and signals (from VADER and
the English lexicon, or from another language's lexicon), and word unigrams and bigrams hashed
into a fixed number of buckets, so the model file stays small whatever the vocabulary. Words
of other languages are hashed with their language code, so "no" in Spanish and "no" in English
learn separately.

>>> from detectors.sentiment.rules import Analysis
>>> x = features(Analysis(compound=-0.6, tokens=["on", "hold"], sarcasm=True), "en")
>>> x["compound"], x["bin_1"], x["sarcasm"]
(-0.6, 1.0, 1.0)
>>> sorted(k for k in x if k.startswith("h"))
['h10696', 'h28743', 'h3335']
"""

from __future__ import annotations

import itertools
import math
import zlib

from detectors.sentiment.rules import Analysis

HASH_BUCKETS = 2**16
# N-grams weigh little against the rule signals: cross-domain, words learnt on one kind of
# text mislead on another (chosen by nested validation, see docs/sentiment.md).
NGRAM_SCALE = 0.3
# Compound bins: the learned layer draws its own neutral band from them.
BIN_EDGES = (-0.75, -0.5, -0.25, -0.05, 0.05, 0.25, 0.5, 0.75)


def compound_bin(compound: float) -> int:
    """Index of the bin ``compound`` falls in, 0 (most negative) to 8.

    >>> compound_bin(-0.9), compound_bin(0.0), compound_bin(0.8)
    (0, 4, 8)
    """
    for i, edge in enumerate(BIN_EDGES):
        if compound < edge:
            return i
    return len(BIN_EDGES)


def features(analysis: Analysis, lang: str) -> dict[str, float]:
    c = analysis.compound
    x: dict[str, float] = {
        "bias": 1.0,
        "compound": c,
        f"bin_{compound_bin(c)}": 1.0,
        "positive_mass": analysis.positive_mass / (analysis.positive_mass + 2.0),
        "negative_mass": analysis.negative_mass / (analysis.negative_mass + 2.0),
        "length": min(math.log1p(len(analysis.tokens)) / 4.0, 1.5),
    }
    if analysis.sarcasm:
        x["sarcasm"] = 1.0
    if analysis.complaint:
        x["complaint"] = 1.0
    if analysis.negated:
        x["negated"] = 1.0
    if analysis.question:
        x["question"] = 1.0
    if analysis.exclaim:
        x["exclaim"] = 1.0
    x.update(ngrams(analysis.tokens, lang))
    return x


def ngrams(tokens: list[str], lang: str) -> dict[str, float]:
    """Unigrams and bigrams, hashed, each weighted NGRAM_SCALE/sqrt(count): long texts do not
    shout, and their squared values always sum to NGRAM_SCALE²."""
    prefix = "" if lang == "en" else f"{lang}:"
    grams = [prefix + t for t in tokens]
    grams += [f"{a} {b}" for a, b in itertools.pairwise(grams)]
    if not grams:
        return {}
    value = NGRAM_SCALE / math.sqrt(len(grams))
    out: dict[str, float] = {}
    for gram in grams:
        key = f"h{zlib.crc32(gram.encode()) % HASH_BUCKETS}"
        out[key] = out.get(key, 0.0) + value
    return out
