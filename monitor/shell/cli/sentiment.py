"""`crisismon sentiment score|train|correct`: the sentiment scorer on files, its model, and
staff corrections (teach, export-model and import-model are in `sentiment_teach`)."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from monitor.shell.cli.common import progress_bar, ready_engine, settings, status
from monitor.shell.cli.sentiment_teach import (
    export_command,
    import_command,
    labels_command,
    teach_command,
)

if TYPE_CHECKING:
    from detectors.sentiment import CustomerServiceScorer
    from monitor.settings import Settings

sentiment_cli = typer.Typer(
    help="Sentiment scoring: score a file, teach it your own labels, retrain the learned "
    "correction, correct a mention.",
    no_args_is_help=True,
)


sentiment_cli.command("teach")(teach_command)
sentiment_cli.command("labels")(labels_command)
sentiment_cli.command("export-model")(export_command)
sentiment_cli.command("import-model")(import_command)


@sentiment_cli.command("score")
def score_command(
    file: Path = typer.Argument(..., help="a .csv file with a header row, or .jsonl"),
    text_column: str = typer.Option("text", "--text-column", help="the column with the text"),
    explain: bool = typer.Option(
        False, "--explain", help="also write confidence and the words that drove each label"
    ),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="a model from `crisismon sentiment train` (default: CRISISMON_SENTIMENT_MODEL, "
        "else the shipped one)",
    ),
    general: bool = typer.Option(
        False, "--general", help="the general model only: without taught labels or corrections"
    ),
) -> None:
    """Score every row of FILE and write CSV to stdout: its columns plus compound, label, lang.

    Uses the same scorer as the service (lexicons from CRISISMON_CONFIG_DIR), with what was
    taught (`crisismon sentiment teach`) and the staff corrections stored in the database
    (CRISISMON_DATABASE_URL, else the data directory's), unless --general. A `lang` column,
    when present, is each row's own language tag; otherwise the language is detected. Rows in
    a language without a lexicon are labelled `unscored`.
    Example: crisismon sentiment score tickets.csv --text-column body > scored.csv
    """
    from detectors.sentiment import build_scorer
    from detectors.sentiment.batch import read_table, score_table

    current = settings()
    table = read_table(file, text_column)
    scorer = build_scorer(current.config_dir, model or current.sentiment_model)
    if not general:
        _use_what_was_taught(current, scorer)
    with progress_bar(with_eta=True) as progress:
        task = progress.add_task(f"scoring {file.name}", total=len(table.rows))
        counts = score_table(
            table,
            scorer,
            sys.stdout,
            text_column=text_column,
            explain=explain,
            advance=lambda n: progress.update(task, advance=n),
        )
    summary = ", ".join(f"{n:,} {label}" for label, n in sorted(counts.items()))
    status.print(f"scored {len(table.rows):,} rows: {summary or 'none'}")


@sentiment_cli.command("train")
def train_command(
    data: Path = typer.Option(
        Path("../shared/data/sentiment/vader_groundtruth"),
        "--data",
        help="folder with VADER's four *_GroundTruth.txt sets",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="where to write the model (default: the shipped model file)"
    ),
) -> None:
    """Train the learned correction's starting model from scratch and write it.

    It learns from all four of VADER's human-rated sets and crisismon's own labelled
    customer-service sentences, with one fixed recipe and seed: the same data gives the same
    file, byte for byte. Retrain after large edits to the lexicons.
    """
    from detectors.sentiment.config import load_all
    from detectors.sentiment.evaluation import train_final
    from detectors.sentiment.scorer import SHIPPED_MODEL, RuleScorer
    from detectors.sentiment.training import (
        CUSTOMER_SERVICE_TRAIN,
        Recipe,
        load_ground_truth,
        load_labelled_csv,
    )

    sets = load_ground_truth(data)
    _, lexicons = load_all(settings().config_dir)
    rules = RuleScorer(lexicons)
    texts = sum(len(v) for v in sets.values()) + len(load_labelled_csv(CUSTOMER_SERVICE_TRAIN))
    recipe = Recipe()
    with progress_bar(with_eta=True) as progress:
        task = progress.add_task("training", total=texts + recipe.epochs)
        model = train_final(
            sets, rules, recipe=recipe, advance=lambda n: progress.update(task, advance=n)
        )
    target = out or SHIPPED_MODEL
    model.save(target)
    size = target.stat().st_size / 1024
    status.print(f"wrote {target} ({size:.0f} KiB), trained on {texts:,} texts")


@sentiment_cli.command("correct")
def correct_command(
    mention_id: str = typer.Argument(..., help="the mention's id (32 hex characters)"),
    label: str = typer.Argument(..., help="what it really is: negative, neutral or positive"),
    who: str = typer.Option(
        None, "--who", help="who is correcting (default: your login name)", show_default=False
    ),
) -> None:
    """Record that a mention's sentiment is LABEL; every worker learns it within seconds.

    The scorer then reads similar texts differently from then on. The mention itself keeps
    the score it was counted with. Example: crisismon sentiment correct 5b82d4b1… negative
    """
    from detectors.sentiment.corrections import add_correction

    recorded = add_correction(
        ready_engine(settings()),
        mention_id=mention_id.strip(),
        label=label,
        who=who or _login_name(),
        now=datetime.now(UTC),
    )
    print(
        f"correction #{recorded.correction_id}: mention {recorded.mention_id} is "
        f"{recorded.label} (it was scored {recorded.previous_label})"
    )


def _use_what_was_taught(current: Settings, scorer: CustomerServiceScorer) -> None:
    """Fit the taught labels and learn the staff corrections of this install, if it has a
    database (a data directory without one has been taught nothing: none is created)."""
    from sqlalchemy.engine import make_url

    from detectors.sentiment.corrections import CorrectionFollower
    from detectors.sentiment.labels import LabelFollower

    url = make_url(current.resolved_database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return
    engine = ready_engine(current)
    taught = LabelFollower().apply_new(engine, scorer)
    corrected = CorrectionFollower().apply_new(engine, scorer)
    status.print(
        f"using {taught:,} taught labels and {corrected:,} staff corrections "
        "(--general: without them)"
    )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"
