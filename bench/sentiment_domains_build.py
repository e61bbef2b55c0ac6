"""Build bench/data/sentiment_domains/ from the public source files (star ratings -> classes).

Run: ``python -m bench.sentiment_domains_build --clothing CSV --phones CSV [CSV ...]
--apple CSV [--out DIR]``.

* ``--clothing``: "Womens Clothing E-Commerce Reviews.csv" (Kaggle nicapotato, CC0).
* ``--phones``: one or more copies of "Amazon_Unlocked_Mobile.csv" (Kaggle PromptCloudHQ, CC0);
  texts are de-duplicated across them.
* ``--apple``: "Apple-Twitter-Sentiment-DFE.csv" (CrowdFlower's Data for Everyone library),
  comma- or semicolon-separated, with or without a title line above the header.

For the reviews, stars become classes by one rule: 1-2 negative, 3 neutral, 4-5 positive. The
Apple tweets were labelled by people: 1 negative, 3 neutral, 5 positive, "not_relevant"
dropped. Samples are drawn with a fixed seed, so the same sources always give the same files.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "sentiment_domains"
SEED = 17
# The clothing reviews are 78% positive; a service inbox is mostly complaints. Keep every
# negative review and this many of each other class.
CLOTHING_OTHERS = 1_200
MAX_CHARS = 1_000


def label_for_stars(stars: str) -> str | None:
    try:
        value = int(float(stars))
    except ValueError:
        return None
    if value in (1, 2):
        return "negative"
    if value == 3:
        return "neutral"
    if value in (4, 5):
        return "positive"
    return None


def _rows(path: Path, text_column: str, stars_column: str) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        out = []
        for row in csv.DictReader(handle):
            text = " ".join((row.get(text_column) or "").split())
            label = label_for_stars(row.get(stars_column) or "")
            if text and label and len(text) <= MAX_CHARS:
                out.append((text, label))
    return out


def _dedupe(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for text, label in rows:
        seen.setdefault(text, label)
    return sorted(seen.items())


def clothing(path: Path) -> list[tuple[str, str]]:
    rows = _dedupe(_rows(path, "Review Text", "Rating"))
    rng = random.Random(SEED)
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    kept = list(by_label.get("negative", []))
    for label in ("neutral", "positive"):
        items = by_label.get(label, [])
        kept += rng.sample(items, min(CLOTHING_OTHERS, len(items)))
    rng.shuffle(kept)
    return kept


def phones(paths: list[Path]) -> list[tuple[str, str]]:
    rows = _dedupe([row for path in paths for row in _rows(path, "Reviews", "Rating")])
    random.Random(SEED).shuffle(rows)
    return rows


APPLE_LABELS = {"1": "negative", "3": "neutral", "5": "positive"}


def apple_tweets(path: Path) -> list[tuple[str, str]]:
    """People-labelled tweets to and about Apple; "not_relevant" dropped, duplicates (mostly
    retweets of the same text) kept once with their first label, shuffled with the seed."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("_unit_id"))
    delimiter = ";" if lines[start].count(";") > lines[start].count(",") else ","
    rows = []
    for row in csv.DictReader(lines[start:], delimiter=delimiter):
        text = " ".join((row.get("text") or "").split())
        label = APPLE_LABELS.get((row.get("sentiment") or "").strip())
        if text and label:
            rows.append((text, label))
    kept = _dedupe(rows)
    random.Random(SEED).shuffle(kept)
    return kept


def write(rows: list[tuple[str, str]], folder: Path, lang: str = "en") -> Counter[str]:
    """``lang`` empty: the scorer detects each text's language (the tweets are mixed)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "data.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "lang"])
        writer.writerows((text, label, lang) for text, label in rows)
    return Counter(label for _, label in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clothing", type=Path, required=True)
    parser.add_argument("--phones", type=Path, nargs="+", required=True)
    parser.add_argument("--apple", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    for path in [args.clothing, *args.phones, args.apple]:
        if not path.is_file():
            sys.exit(f"{path}: file not found")
    print(
        "ecommerce_clothing", dict(write(clothing(args.clothing), args.out / "ecommerce_clothing"))
    )
    print("phone_reviews", dict(write(phones(args.phones), args.out / "phone_reviews")))
    apple = write(apple_tweets(args.apple), args.out / "apple_tweets", lang="")
    print("apple_tweets", dict(apple))


if __name__ == "__main__":
    main()
