"""`crisismon eval sentiment`: the held-out evaluation that README.md reports."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import settings, status
from monitor.cli.sentiment import progress_bar

eval_cli = typer.Typer(
    help="Evaluations that reproduce the figures in README.md.", no_args_is_help=True
)


@eval_cli.command("sentiment")
def sentiment_command(
    data: Path = typer.Option(
        Path("../shared/data/sentiment/vader_groundtruth"),
        "--data",
        help="folder with VADER's four *_GroundTruth.txt sets",
    ),
    also: Path | None = typer.Option(
        None,
        "--also",
        help="a labelled CSV (text,label) to test too, with the model trained on all four "
        "sets, e.g. tests/data/customer_service_sentiment.csv",
    ),
) -> None:
    """Leave one domain out on VADER's four human-rated sets: plain VADER against ours.

    For each set (tweets, Amazon, movies, NYT): train the learned correction on the other
    three plus our customer-service sentences, then score the held-out set with plain VADER,
    the rule layers alone, and the full scorer. Mean ratings >= +0.5 are positive, <= -0.5
    negative, the rest neutral. Prints Markdown: macro-F1, per-class precision and recall,
    confusion matrices. Takes about two minutes.
    """
    from detectors.sentiment.config import load_all
    from detectors.sentiment.evaluation import SCORERS, evaluate, render
    from detectors.sentiment.scorer import RuleScorer
    from detectors.sentiment.training import (
        CUSTOMER_SERVICE_TRAIN,
        Recipe,
        load_ground_truth,
        load_labelled_csv,
    )

    sets = load_ground_truth(data)
    extra = load_labelled_csv(also) if also else []
    config, lexicons = load_all(settings().config_dir)
    from detectors.sentiment.language import LanguageDetector

    rules = RuleScorer(
        lexicons,
        LanguageDetector(config.language.default, config.language.min_confidence),
    )
    # Progress: texts featurised once, training epochs per fold, texts scored by each scorer.
    n_sets = sum(len(v) for v in sets.values())
    n_featurised = n_sets + len(load_labelled_csv(CUSTOMER_SERVICE_TRAIN))
    folds_run = len(sets) + bool(extra)
    total = n_featurised + folds_run * Recipe().epochs + len(SCORERS) * (n_sets + len(extra))
    with progress_bar() as progress:
        task = progress.add_task("evaluating", total=total)
        folds = evaluate(
            sets,
            rules,
            max_steps=config.corrections.max_steps,
            extra=extra,
            extra_name=also.stem if also else "",
            advance=lambda n: progress.update(task, advance=n),
        )
    print(render(folds))
    status.print("done: every score above is on data the model was not trained on")
