"""`crisismon sentiment teach|labels|export-model|import-model`: teaching the scorer a
business's own labelled texts, undoing it, and moving what was taught to another install."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from monitor.shell.cli.common import progress_bar, ready_engine, settings, status

if TYPE_CHECKING:
    from detectors.sentiment import CustomerServiceScorer
    from monitor.settings import Settings

# Workers look for new labels this often (monitor.shell.agents.sentiment).
_REFIT_WITHIN = "5 seconds"


def teach_command(
    file: Path = typer.Argument(..., help="a .csv file with a header row, or .jsonl"),
    text_column: str = typer.Option("text", "--text-column", help="the column with the text"),
    label_column: str = typer.Option(
        "label", "--label-column", help="the column with the label people gave"
    ),
    map_labels: str | None = typer.Option(
        None,
        "--map",
        help='your labels as ours, e.g. "complaint=negative,praise=positive" (case-insensitive)',
    ),
    lang_column: str | None = typer.Option(
        None, "--lang-column", help="a column with each row's language tag (else detected)"
    ),
    who: str = typer.Option(
        None, "--who", help="who labelled them (default: your login name)", show_default=False
    ),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="store the good rows and list the bad ones instead of stopping"
    ),
    folds: int = typer.Option(
        5, "--folds", min=0, help="folds of the before/after cross-validation (0: skip it)"
    ),
    output: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Teach the scorer texts labelled by people: every worker uses them within seconds.

    Stores the labels (negative, neutral or positive after --map) in the database and prints
    a cross-validated before/after on them: per class precision, recall and F1, macro-F1 and
    negative recall, for the general scorer and for the scorer taught on the other folds.
    Teaching the same text with the same label again stores nothing new. A bad row (empty
    text, unknown label, missing column) stops with one line and stores nothing, unless
    --skip-bad. Rows are counted from 1 after the header.
    Example: crisismon sentiment teach tickets.csv --text-column body --map "complaint=negative"
    """
    from detectors.sentiment.crossval import cross_validate, report_dict, report_table
    from detectors.sentiment.label_file import Columns, read_labelled
    from detectors.sentiment.labels import Taught, add_labels, all_labels, content_hash
    from monitor.privacy import Redactor

    if output not in ("table", "json"):
        raise _error(f"--format must be table or json, got {output!r}")
    current = settings()
    # Labels are redacted as mentions are, with the same phone region.
    redactor = Redactor(current.phone_region)
    columns = Columns(text_column, label_column, lang_column)
    # Reading is quick beside the cross-validation: the progress bar is for that.
    with _expected_errors():
        labelled = read_labelled(
            file, columns, _parse_map(map_labels), skip_bad=skip_bad, redactor=redactor
        )
    for bad in labelled.skipped:
        status.print(f"skipped row {bad.row}: {bad.reason}")
    engine = ready_engine(current)
    # Each text and label once: a duplicate in two folds would be scored by a layer that saw it.
    first: dict[str, Taught] = {}
    for example in labelled.examples:
        first.setdefault(content_hash(example[0], example[1]), example)
    unique, mine = list(first.values()), set(first)
    earlier = [ex for ex in all_labels(engine).examples if content_hash(ex[0], ex[1]) not in mine]
    stored = add_labels(
        engine,
        labelled.examples,
        source=file.name,
        who=who or _login_name(),
        now=datetime.now(UTC),
        redactor=redactor,
    )
    result = None
    if folds:
        scorer = _general_scorer(current)
        with progress_bar(with_eta=True) as progress:
            task = progress.add_task("cross-validating", total=2 * len(unique))
            result = cross_validate(
                scorer,
                unique,
                earlier=earlier,
                folds=folds,
                advance=lambda n: progress.update(task, advance=n),
                fitting=lambda k, n: progress.update(
                    task, description=f"cross-validating (fold {k} of {n})"
                ),
            )
    total = len(earlier) + len(mine)
    summary = {
        "file": str(file),
        "rows": labelled.rows,
        "taught": len(labelled.examples),
        "new": stored.new,
        "already_stored": stored.already,
        "skipped": [{"row": bad.row, "reason": bad.reason} for bad in labelled.skipped],
        "labels_in_all": total,
        "cross_validation": report_dict(result) if result else None,
    }
    if output == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"taught {len(labelled.examples):,} labels from {file.name}: {stored.new:,} new, "
            f"{stored.already:,} already stored, {len(labelled.skipped):,} rows skipped; "
            f"{total:,} labels in all"
        )
        if result is not None:
            print()
            print("\n".join(report_table(result)))
        elif folds:
            print("too few labels for a cross-validated before/after (it needs 2 folds)")
    status.print(
        f"every worker refits its taught layer from {total:,} labels within {_REFIT_WITHIN}"
    )


def export_command(
    file: Path = typer.Argument(..., help="where to write the taught model (.json.gz)"),
) -> None:
    """Write what this install was taught to FILE, for `crisismon sentiment import-model`.

    The file holds the taught labels (text, label, language), their count and content hash,
    and the taught layer fitted from them. The label texts (redacted as mentions are) are the
    only customer text in it: no staff names, no mention ids, no staff corrections. Treat it
    like the file you taught.
    """
    from detectors.sentiment.labels import all_labels
    from detectors.sentiment.portable import fingerprint, write_export
    from detectors.sentiment.scorer import SHIPPED_MODEL

    current = settings()
    labels = all_labels(ready_engine(current))
    if not labels.count:
        raise _error("nothing taught yet: teach a file first (crisismon sentiment teach FILE)")
    scorer = _general_scorer(current)
    status.print(f"fitting the taught layer from {labels.count:,} labels")
    scorer.teach(labels.examples)
    with _expected_errors():
        size = write_export(
            file,
            labels,
            scorer.taught_state(),
            general_model=fingerprint(current.sentiment_model or SHIPPED_MODEL),
            now=datetime.now(UTC),
        )
    print(
        f"wrote {file} ({size / 1024:.0f} KiB): {labels.count:,} labels, "
        f"content hash {labels.content_hash[:16]}"
    )


def import_command(
    file: Path = typer.Argument(..., help="a file from `crisismon sentiment export-model`"),
    who: str = typer.Option(
        None, "--who", help="who imports it (default: your login name)", show_default=False
    ),
) -> None:
    """Add the labels taught elsewhere (FILE) to this install; every worker then uses them.

    The file's format version, count and content hash are checked first; a corrupt file
    stores nothing. Its labels join those taught here (the same text and label once), and
    every worker refits its taught layer from all of them within seconds. With the same
    general model and nothing taught here before, scores are the same as where it came from.
    """
    from detectors.sentiment.labels import add_labels, all_labels
    from detectors.sentiment.portable import fingerprint, read_export
    from detectors.sentiment.scorer import SHIPPED_MODEL
    from monitor.privacy import Redactor

    current = settings()
    with _expected_errors():
        exported = read_export(file)
    try:
        _general_scorer(current).load_taught(exported.taught_state)
    except (ValueError, KeyError, TypeError, OSError, EOFError) as exc:
        raise _error(f"{file}: corrupt taught layer ({exc})") from exc
    engine = ready_engine(current)
    stored = add_labels(
        engine,
        exported.examples,
        source=f"import:{file.name}"[:200],
        who=who or _login_name(),
        now=datetime.now(UTC),
        redactor=Redactor(current.phone_region),
    )
    if exported.general_model != fingerprint(current.sentiment_model or SHIPPED_MODEL):
        status.print(
            "note: exported with another general model; the labels are refitted on this one"
        )
    total = all_labels(engine)
    same = " (the same labels as the file)" if total.content_hash == exported.content_hash else ""
    print(
        f"imported {len(exported.examples):,} labels from {file.name}: {stored.new:,} new, "
        f"{stored.already:,} already stored; {total.count:,} labels in all{same}"
    )
    status.print(f"every worker refits its taught layer within {_REFIT_WITHIN}")


def labels_command(
    forget: str | None = typer.Option(
        None, "--forget", help="delete the labels taught from this file (its name as listed)"
    ),
) -> None:
    """List what was taught, by file: labels per class, who, when. --forget SOURCE undoes one.

    A text and label taught from two files is stored once, under the first: forgetting that
    file forgets it. Every worker refits without the forgotten labels within seconds.
    Example: crisismon sentiment labels --forget tickets.csv
    """
    from detectors.sentiment.base import LABELS
    from detectors.sentiment.labels import forget_source, sources

    engine = ready_engine(settings())
    if forget is not None:
        deleted = forget_source(engine, forget)
        if not deleted:
            known = ", ".join(one.name for one in sources(engine)) or "none"
            raise _error(f"no labels taught from {forget!r} (taught from: {known})")
        print(f"forgot {deleted:,} labels taught from {forget}")
        status.print(f"every worker refits its taught layer within {_REFIT_WITHIN}")
        return
    found = sources(engine)
    if not found:
        print("nothing taught yet: crisismon sentiment teach FILE")
        return
    print("| source | labels | negative | neutral | positive | who | taught |")
    print("|---|---:|---:|---:|---:|---|---|")
    for one in found:
        counts = " | ".join(f"{one.counts[label]:,}" for label in LABELS)
        when = f"{one.first:%Y-%m-%d %H:%M}" + (
            f" to {one.last:%Y-%m-%d %H:%M}" if one.last != one.first else ""
        )
        print(f"| {one.name} | {one.total:,} | {counts} | {one.who} | {when} UTC |")


def _general_scorer(current: Settings) -> CustomerServiceScorer:
    from detectors.sentiment import build_scorer

    return build_scorer(current.config_dir, current.sentiment_model)


def _parse_map(spec: str | None) -> dict[str, str]:
    from detectors.sentiment.label_file import parse_map

    with _expected_errors():
        return parse_map(spec)


def _login_name() -> str:
    from monitor.shell.cli.sentiment import _login_name as login_name

    return login_name()


def _error(message: str) -> Exception:
    from monitor.shell.cli import CliError

    return CliError(message)


@contextmanager
def _expected_errors() -> Iterator[None]:
    """Turn a bad file into the CLI's one-line error."""
    from detectors.sentiment.label_file import LabelFileError
    from detectors.sentiment.portable import PortableModelError

    try:
        yield
    except (LabelFileError, PortableModelError) as exc:
        raise _error(str(exc)) from exc
