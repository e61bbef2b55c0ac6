"""`crisismon eval …`: honest, reproducible evaluations on public labelled data.

The figures in README.md are what these commands print."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from monitor.cli.common import progress_bar, settings, status

eval_cli = typer.Typer(help="Evaluate detection on public labelled data.", no_args_is_help=True)

# The fixed configuration, declared before scoring the held-out files. Every value below was
# chosen on the standard profile over five of the ten realTweets files (AAPL, AMZN, CRM, CVS, FB)
# only; the other five are reported as held out and were never scored while choosing. Selection
# rule: the detector settings with the best mean score over thresholds 4-6 and cooldowns of half
# a day and a day, then the threshold and cooldown in the middle of that plateau.
NAB_THRESHOLD = 7.0
NAB_COOLDOWN_ROWS = 288  # one day of 5-minute rows
NAB_HALF_LIFE = 120.0  # rows (10 hours)
# Spikes are also judged over 16 rows (80 minutes) when nearly every one of them is up: the
# labelled anomalies are news days, not single busy buckets.
NAB_SPIKE_SPAN = 16
# No crisis hold: tweet volumes shift level for days (product launches), and holding the
# baseline through them cost more false positives on the tuning files than it saved.
NAB_HOLD_WINDOWS = 0
# How bursty a series is in general, learnt over a day-long half-life (1,440 rows): ordinary
# bursts of a bursty account stop looking like one-in-a-billion events.
NAB_DISPERSION_HALF_LIFE = 1440.0
# No seasonal term: on the tuning files it lowered the score (best 83.6 without, 72.9 with),
# because the labelled news spikes fall in busy daytime hours that the seasonal baseline expects
# to be busy, while night-time chatter bursts become more surprising. Live series keep it.
NAB_SEASONAL = False
TUNED_ON = ("AAPL", "AMZN", "CRM", "CVS", "FB")


@eval_cli.command("nab")
def nab_command(
    data: Path = typer.Option(
        Path("../shared/data/nab"),
        "--data",
        help="NAB folder with realTweets/, labels/ and profiles.json",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="also write per-row results in NAB's results layout here"
    ),
) -> None:
    """Score the live detector on NAB realTweets with NAB's windows, profiles and probation.

    One fixed configuration (threshold 7, one-day cooldown per alert, half-life 120 rows, spikes
    also judged over 16 rows, day-long dispersion memory, no crisis hold, no seasonal term), the
    same detector class the live pipeline runs. Prints raw and normalised scores (null detector
    0, perfect 100) per profile, for all files, the five tuning files and the five held out.
    """
    from detectors.config import DetectorSettings
    from detectors.nab import score_corpus
    from detectors.nab_eval import PolicySettings, load_corpus, load_profiles, run, write_results

    files = load_corpus(data)
    profiles = load_profiles(data)
    detector = DetectorSettings(
        half_life_windows=NAB_HALF_LIFE,
        spike_span_windows=NAB_SPIKE_SPAN,
        hold_windows=NAB_HOLD_WINDOWS,
        dispersion_half_life_windows=NAB_DISPERSION_HALF_LIFE,
        seasonal=NAB_SEASONAL,
    )
    policy = PolicySettings(threshold=NAB_THRESHOLD, cooldown_rows=NAB_COOLDOWN_ROWS)
    with progress_bar() as progress:
        task = progress.add_task("scoring realTweets files", total=len(files))
        result = run(files, detector, policy, on_file=lambda _k: progress.advance(task))
    held_out = [f for f in files if not any(t in f.key for t in TUNED_ON)]
    tuning = [f for f in files if any(t in f.key for t in TUNED_ON)]

    table = Table(
        "profile",
        "files",
        "raw",
        "normalised",
        "TP",
        "FP",
        "FN",
        title="NAB realTweets, fixed threshold (not swept on the test data)",
    )
    subsets = (("all 10", files), ("tuning 5", tuning), ("held-out 5", held_out))
    for label, subset in subsets:
        for profile in profiles:
            score = score_corpus(
                ((result.alerts[f.key], f.windows, len(f.values)) for f in subset), profile
            )
            table.add_row(
                profile.name,
                label,
                f"{score.raw:.2f}",
                f"{score.normalised:.1f}",
                str(score.true_positives),
                str(score.false_positives),
                str(score.false_negatives),
            )
    Console().print(table)
    if out is not None:
        written = list(write_results(result, out))
        status.print(f"wrote {len(written)} result files under {out}")


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
    with progress_bar(with_eta=True) as progress:
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
