"""`crisismon eval …`: honest, reproducible evaluations on public labelled data.

The figures in README.md are what these commands print."""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from monitor.shell.cli.common import progress_bar, settings, status

if TYPE_CHECKING:
    from detectors.nab_corpus import NabFile

eval_cli = typer.Typer(help="Evaluate detection on public labelled data.", no_args_is_help=True)


@eval_cli.command("nab")
def nab_command(
    data: Path = typer.Option(
        Path("../shared/data/nab"),
        "--data",
        help="folder with the NAB CSVs (timestamp,value), in corpus folders or not: NAB's data/, "
        "one corpus folder, or a copy such as ../shared/data/nab",
    ),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="NAB label windows (file → its start and end times, like combined_windows.json); "
        "default: the combined_windows*.json in DATA/labels, DATA, or NAB's labels/ above DATA",
    ),
    profiles: Path | None = typer.Option(
        None,
        "--profiles",
        help="NAB scoring profiles (profiles.json); default: DATA/profiles.json or NAB's "
        "config/profiles.json if there, else NAB's three standard profiles built in",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="also write per-row results in NAB's results layout here"
    ),
) -> None:
    """Score the record detector on a NAB corpus with NAB's windows, profiles and probation.

    One fixed configuration (detectors/nab_eval.py, NabSettings): a row alerts when its
    5-minute, 30-minute, 2-hour or 8-hour total is the highest of that span in 21 days, or
    clearly the lowest, then the file stays quiet for a day. Prints raw and normalised scores
    (null detector 0, perfect 100) per profile for all files and, when the five realTweets
    tuning files are there, for them and for the files held out.
    """
    from detectors.nab import score_corpus
    from detectors.nab_corpus import NabDataError, read_corpus
    from detectors.nab_eval import TUNING_TICKERS, NabSettings, is_tuning_file, run, write_results

    corpus = read_corpus(data, labels, profiles)
    note = functools.partial(status.print, soft_wrap=True)  # paths are never broken
    files = corpus.files
    note(f"labels: {corpus.labels_path} ({len(files)} files scored)")
    if corpus.missing:
        note(f"  {len(corpus.missing)} labelled files are not under {data}: not scored")
    if corpus.unlabelled:
        note(
            f"  {len(corpus.unlabelled)} CSV files under {data} are not in the labels, "
            f"e.g. {corpus.unlabelled[0]}: not scored"
        )
    note(f"profiles: {corpus.profiles_path or 'NAB standard profiles (built in)'}")
    with progress_bar() as progress:
        task = progress.add_task("scoring NAB files", total=len(files))
        result = run(files, NabSettings(), on_file=lambda _k: progress.advance(task))

    tuning = [f for f in files if is_tuning_file(f)]
    held_out = [f for f in files if not is_tuning_file(f)]
    subsets: list[tuple[str, list[NabFile]]] = [(f"all {len(files)}", files)]
    if tuning:
        subsets.append((f"tuning {len(tuning)}", tuning))
        if held_out:
            subsets.append((f"held-out {len(held_out)}", held_out))
    corpora = sorted({f.corpus for f in files})
    if len(corpora) > 1:
        for name in corpora:
            in_corpus = [f for f in files if f.corpus == name]
            subsets.append((f"{name or '(no folder)'} {len(in_corpus)}", in_corpus))
    names = ", ".join(c or data.name for c in corpora)
    table = Table(
        "profile",
        "files",
        "raw",
        "normalised",
        "TP",
        "FP",
        "FN",
        # The threshold is fixed (a full record), never swept on the test data.
        title=f"NAB {names}: a 21-day record high or low, fixed threshold",
    )
    for label, subset in subsets:
        for profile in corpus.profiles:
            score = score_corpus(
                ((result.alerts[f.key], f.windows, len(f.values)) for f in subset), profile
            )
            table.add_row(
                profile.name,
                label,
                f"{score.raw:.2f}",
                "n/a" if math.isnan(score.normalised) else f"{score.normalised:.1f}",
                str(score.true_positives),
                str(score.false_positives),
                str(score.false_negatives),
            )
    # Piped output is read by scripts and diffs: wide enough that no corpus name is cut.
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    if not tuning:
        note(
            f"none of the five tuning files (realTweets {', '.join(TUNING_TICKERS)}) is here: "
            f"all {len(files)} files are held out"
        )
    if not any(f.windows for f in files):
        note("no labelled window falls inside these files: normalised scores are n/a")
    if out is not None:
        try:
            written = list(write_results(result, out))
        except OSError as exc:
            raise NabDataError(f"{out}: cannot write results ({exc.strerror or exc})") from None
        note(f"wrote {len(written)} result files under {out}")


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
    by: str | None = typer.Option(
        None,
        "--by",
        help="lang or segment: instead, the same figures per group for --labels and/or "
        "--from-db, flagging a group more than 0.10 macro-F1 below the overall figure",
    ),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="with --by: a labelled CSV or JSONL (text and label columns; lang and segment "
        "columns optional), scored by the default scorer",
    ),
    from_db: bool = typer.Option(
        False,
        "--from-db",
        help="with --by: staff labels in the database (corrections, the labelling queue) "
        "against the label each mention was scored with when it arrived",
    ),
    text_column: str = typer.Option("text", "--text-column", help="with --labels"),
    label_column: str = typer.Option("label", "--label-column", help="with --labels"),
) -> None:
    """Leave one domain out on VADER's four human-rated sets: plain VADER against ours.

    For each set (tweets, Amazon, movies, NYT): train the learned correction on the other
    three plus our customer-service sentences, then score the held-out set with plain VADER,
    the rule layers alone, and the full scorer. Mean ratings >= +0.5 are positive, <= -0.5
    negative, the rest neutral. Prints Markdown: macro-F1, per-class precision and recall,
    confusion matrices. Takes about two minutes.

    With --by lang or --by segment: macro-F1, negative recall and n per group of --labels
    FILE and/or --from-db; a group under n=10 shows "too few". Example:
    crisismon eval sentiment --by segment --labels tickets.csv --from-db
    """
    if by is not None or labels is not None or from_db:
        from monitor.shell.cli.eval_groups import groups_report

        groups_report(
            by=by,
            labels=labels,
            from_db=from_db,
            text_column=text_column,
            label_column=label_column,
        )
        return
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
