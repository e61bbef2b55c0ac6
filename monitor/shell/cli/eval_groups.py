"""`crisismon eval sentiment --by lang|segment`: accuracy per language or customer segment."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.shell.cli.common import progress_bar, ready_engine, settings, status


def groups_report(
    *,
    by: str | None,
    labels: Path | None,
    from_db: bool,
    text_column: str,
    label_column: str,
) -> None:
    """Print macro-F1, negative recall and n per group, flagging any group more than 0.10
    macro-F1 below the overall figure (exit code 0 either way)."""
    from detectors.sentiment.group_data import GROUPINGS, from_database, from_file
    from detectors.sentiment.groups import LabelledText, per_group, render, summary

    if by is None or by not in GROUPINGS:
        raise typer.BadParameter(f"use --by {' or --by '.join(GROUPINGS)}", param_hint="--by")
    if labels is None and not from_db:
        raise typer.BadParameter(
            "say which labels to evaluate: --labels FILE (CSV or JSONL), --from-db, or both",
            param_hint="--by",
        )
    rows: list[LabelledText] = []
    sources = []
    if labels is not None:
        from detectors.sentiment import build_scorer
        from detectors.sentiment.batch import read_table

        current = settings()
        scorer = build_scorer(current.config_dir, current.sentiment_model)
        total = len(read_table(labels, text_column).rows)
        with progress_bar(with_eta=True) as progress:
            task = progress.add_task(f"scoring {labels.name}", total=total)
            found = from_file(
                labels,
                scorer,
                by=by,
                text_column=text_column,
                label_column=label_column,
                advance=lambda n: progress.update(task, advance=n),
            )
        rows += found
        sources.append(f"{len(found):,} labelled rows of {labels.name}, scored now")
    if from_db:
        found = from_database(ready_engine(settings()), by=by)
        rows += found
        sources.append(f"{len(found):,} staff labels in the database, against the stored label")
    report = per_group(rows, by=by)
    print(render(report))
    status.print(f"from {' and '.join(sources)}; groups under n={report.min_n}: too few")
    status.print(summary(report), soft_wrap=True)
