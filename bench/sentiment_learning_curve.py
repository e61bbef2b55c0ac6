"""Learning curve of the taught sentiment layer (issue 17): how much a business's own labels help.

For every domain folder under ``--data`` (a ``data.csv`` with ``text,label[,lang]``), and for
each of ``--draws`` random draws: a held-out 40% of the domain is set aside and never taught;
the default scorer is taught 0, 50, 100, 250, 500 and 1,000 labels drawn from the rest, and
scored on the held-out part (macro-F1 and negative recall, mean over the draws). Each domain
is taught and scored on its own data only. The same labels also train the baseline, a
TF-IDF logistic regression stacked on today's scorer (`bench.sentiment_baseline`).

With ``--vader`` (VADER's ground-truth folder), the layer taught 500 labels of each domain
also scores VADER's four sets: the change against the untaught scorer is how much teaching
one business's language costs on general text. Throughput is the whole default scorer with
a taught layer, one core, texts per second (target: 5,000).

Run: ``python -m bench.sentiment_learning_curve --data bench/data/sentiment_domains
[--vader ../shared/data/sentiment/vader_groundtruth] [--draws 3]`` (about 5 to 10 minutes on
2 busy cores). Writes ``bench/results/sentiment_learning_curve.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.sentiment_baseline import StackedTfidfLogistic
from detectors.sentiment import build_scorer, taught
from detectors.sentiment.base import LABELS
from detectors.sentiment.features import features
from detectors.sentiment.metrics import Metrics
from detectors.sentiment.scorer import CustomerServiceScorer
from detectors.sentiment.training import DataError, load_ground_truth
from monitor.settings import get_settings
from monitor.shell.cli.common import progress_bar

COUNTS = (0, 50, 100, 250, 500, 1000)
TEST_SHARE = 0.4
GENERAL_AFTER = 500
RESULTS = Path(__file__).resolve().parent / "results"
TARGET_PER_SECOND = 5_000


@dataclass(frozen=True)
class Item:
    """One labelled text, read once by the general scorer."""

    text: str
    label: str
    x: dict[str, float]
    proba: dict[str, float]
    patterns: dict[str, float]


def read_domain(path: Path) -> list[tuple[str, str, str | None]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    out = []
    for number, row in enumerate(rows, 2):
        text, label = (row.get("text") or "").strip(), (row.get("label") or "").strip()
        if not text or label not in LABELS:
            raise DataError(f"{path}:{number}: needs a text and a label in {', '.join(LABELS)}")
        out.append((text, label, (row.get("lang") or "").strip() or None))
    return out


def read(scorer: CustomerServiceScorer, rows: Sequence[tuple[str, str, str | None]]) -> list[Item]:
    """What `CustomerServiceScorer.score` and `teach` compute before the taught layer."""
    general = scorer.model.weights()
    items = []
    for text, label, lang in rows:
        resolved = scorer.rules.language_of(text, lang)
        analysis = scorer.rules.analyse(text, resolved)
        if analysis is None:
            continue  # unscored either way: the taught layer does not apply
        x = features(analysis, resolved)
        proba = taught.base_proba(general, x)
        items.append(Item(text, label, x, proba, taught.service_patterns(analysis, text)))
    return items


def best(proba: Mapping[str, float]) -> str:
    return max(LABELS, key=lambda label: proba.get(label, 0.0))


def ours(train: Sequence[Item]) -> Callable[[Sequence[Item]], list[str]]:
    rows = [(taught.layer_inputs(i.x, i.proba, i.patterns), i.proba, i.label) for i in train]
    layer = taught.fit(rows)
    return lambda items: [best(layer.adjust(i.proba, i.x, i.patterns.copy)) for i in items]


def baseline(train: Sequence[Item]) -> Callable[[Sequence[Item]], list[str]]:
    model = StackedTfidfLogistic().fit([(i.text, i.proba) for i in train], [i.label for i in train])
    return lambda items: model.predict([(i.text, i.proba) for i in items])


def untaught(items: Sequence[Item]) -> list[str]:
    return [best(i.proba) for i in items]


def figures(items: Sequence[Item], predicted: Sequence[str]) -> tuple[float, float]:
    metrics = Metrics.of((i.label, p) for i, p in zip(items, predicted, strict=True))
    return metrics.macro_f1, metrics.recall("negative")


def curve(
    items: list[Item],
    draws: int,
    counts: Sequence[int],
    general: Mapping[str, list[Item]],
    advance: Callable[[], None],
) -> dict[str, Any]:
    """Per method and label count, the mean macro-F1 and negative recall over the draws."""
    scores: dict[tuple[str, int], list[tuple[float, float]]] = {}
    general_change: dict[str, list[float]] = {name: [] for name in general}
    for draw in range(draws):
        order = list(range(len(items)))
        random.Random(draw).shuffle(order)
        cut = int(len(items) * TEST_SHARE)
        test = [items[i] for i in order[:cut]]
        pool = [items[i] for i in order[cut:]]
        for n in counts:
            if n > len(pool):
                continue
            if n == 0:
                scores.setdefault(("ours", 0), []).append(figures(test, untaught(test)))
                advance()
                continue
            train = pool[:n]
            predict = ours(train)
            scores.setdefault(("ours", n), []).append(figures(test, predict(test)))
            scores.setdefault(("baseline", n), []).append(figures(test, baseline(train)(test)))
            if n == GENERAL_AFTER:
                for name, sample in general.items():
                    after = figures(sample, predict(sample))[0]
                    general_change[name].append(after - figures(sample, untaught(sample))[0])
            advance()
    table: dict[str, Any] = {"methods": {}, "general_change_after_500": {}}
    for (method, n), values in sorted(scores.items()):
        table["methods"].setdefault(method, {})[str(n)] = {
            "macro_f1": round(statistics.mean(v[0] for v in values), 4),
            "negative_recall": round(statistics.mean(v[1] for v in values), 4),
            "draws": len(values),
        }
    for name, changes in general_change.items():
        if changes:
            table["general_change_after_500"][name] = round(statistics.mean(changes), 4)
    return table


def throughput(
    domain: Sequence[tuple[str, str, str | None]], vader: Path | None, n: int = 20_000
) -> dict[str, Any]:
    """Texts per second of the whole default scorer, untaught and taught 500 labels of the
    first domain, on `bench.sentiment`'s texts (VADER's tweets and our customer-service
    sentences) when ``vader`` is given, else on the domain's own texts. The two are measured
    in turns and each keeps its best round, so a busy neighbour slows both alike."""
    from bench.sentiment import texts

    own = [domain[i % len(domain)][0] for i in range(n)]
    items = texts(n, vader) if vader is not None else own
    plain = build_scorer(get_settings().config_dir)
    taught_scorer = build_scorer(get_settings().config_dir)
    taught_scorer.teach(domain[:500])
    before, after = interleaved(plain.score, taught_scorer.score, items)
    return {
        "texts": n,
        "on": "vader tweets + customer-service sentences" if vader else "domain texts",
        "untaught_per_s": round(before),
        "taught_per_s": round(after),
        "ratio": round(after / before, 3),
    }


def interleaved(
    first: Callable[[str], object], second: Callable[[str], object], items: Sequence[str]
) -> tuple[float, float]:
    """Texts per second of two scorers, timed in turns of 500 texts (which goes first
    alternates), best of 3 passes: on a shared machine the load moves within seconds, and
    turns this short see the same load."""
    best = [0.0, 0.0]
    for _ in range(3):
        spent = [0.0, 0.0]
        for turn, start in enumerate(range(0, len(items), 500)):
            chunk = items[start : start + 500]
            order = (0, 1) if turn % 2 == 0 else (1, 0)
            for which in order:
                score = first if which == 0 else second
                began = time.perf_counter()
                for text in chunk:
                    score(text)
                spent[which] += time.perf_counter() - began
        best = [max(best[i], len(items) / spent[i]) for i in (0, 1)]
    return best[0], best[1]


def render(result: Mapping[str, Any]) -> str:
    counts = [str(n) for n in result["counts"]]
    lines = [
        "| domain | method | " + " | ".join(f"{n} labels" for n in counts) + " |",
        "|---|---|" + "---:|" * len(counts),
    ]
    for domain, table in result["domains"].items():
        for method in ("ours", "baseline"):
            cells = []
            for n in counts:
                cell = table["methods"].get(method, {}).get(n)
                if method == "baseline" and n == "0":
                    cell = table["methods"]["ours"].get("0")
                cells.append(
                    f"{cell['macro_f1']:.3f} / {cell['negative_recall']:.3f}" if cell else "–"
                )
            name = "crisismon" if method == "ours" else "TF-IDF LR stacked"
            lines.append(f"| {domain} | {name} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: macro-F1 / negative recall on the held-out 40%, mean of the draws."]
    changes = {d: t["general_change_after_500"] for d, t in result["domains"].items()}
    if any(changes.values()):
        sets = sorted({s for c in changes.values() for s in c})
        lines += ["", "| taught 500 labels of | " + " | ".join(sets) + " |"]
        lines.append("|---|" + "---:|" * len(sets))
        for domain, change in changes.items():
            lines.append(f"| {domain} | " + " | ".join(f"{change[s]:+.3f}" for s in sets) + " |")
        lines += ["", "Change in macro-F1 on VADER's sets against the untaught scorer."]
    speed = result["throughput"]
    lines += [
        "",
        f"Throughput, whole default scorer, one core: {speed['untaught_per_s']:,}/s untaught, "
        f"{speed['taught_per_s']:,}/s taught 500 labels (ratio {speed['ratio']:.2f}; target "
        f"{TARGET_PER_SECOND:,}/s; texts: {speed['on']}).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/data/sentiment_domains"))
    parser.add_argument("--vader", type=Path, default=None)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    try:
        result = run(args.data, args.vader, args.draws)
    except DataError as exc:
        sys.exit(f"error: {exc}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sentiment_learning_curve.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = render(result)
    (args.out / "sentiment_learning_curve.md").write_text(markdown + "\n")
    print(markdown)


def run(data: Path, vader: Path | None, draws: int) -> dict[str, Any]:
    if not data.is_dir():
        raise DataError(f"{data}: not a folder (expected one folder per domain with data.csv)")
    folders = sorted(p for p in data.iterdir() if (p / "data.csv").is_file())
    if not folders:
        raise DataError(f"{data}: no domain folders with a data.csv")
    general_sets = load_ground_truth(vader) if vader is not None else {}
    started = time.perf_counter()
    scorer = build_scorer(get_settings().config_dir)
    raw = {folder.name: read_domain(folder / "data.csv") for folder in folders}
    with progress_bar(with_eta=True) as bar:
        reading = bar.add_task("reading texts", total=len(general_sets) + len(raw))
        general = {}
        for name, examples in general_sets.items():
            general[name] = read(scorer, [(e.text, e.label, "en") for e in examples])
            bar.advance(reading)
        items = {}
        for name, rows in raw.items():
            items[name] = read(scorer, rows)
            bar.advance(reading)
        task = bar.add_task("teaching", total=len(raw) * draws * len(COUNTS))
        domains = {
            name: curve(items[name], draws, COUNTS, general, lambda: bar.advance(task))
            for name in raw
        }
    return {
        "counts": list(COUNTS),
        "draws": draws,
        "test_share": TEST_SHARE,
        "domains": domains,
        "throughput": throughput(raw[next(iter(raw))], vader),
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    main()
