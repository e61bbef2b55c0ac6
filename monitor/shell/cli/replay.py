"""`crisismon replay FILE`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import typer

from monitor.shell.cli.common import progress_bar, resolve_broker_url, settings, status


def replay_command(
    file: Path = typer.Argument(..., help="mentions as .jsonl, .json (array) or .csv"),
    speed: float | None = typer.Option(
        None,
        "--speed",
        help="play event time N× faster than real time (60 = an hour a "
        "minute); default: as fast as possible",
    ),
    source: str | None = typer.Option(
        None, "--source", help="source name for records that have none"
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        help="read FILE as an app store review export: appstore (App Store Connect "
        "customerReviews JSON) or googleplay (Play Developer API reviews.list JSON); "
        "needs --source",
    ),
    product: str | None = typer.Option(
        None, "--product", help="with --store: the product (app) these reviews are about"
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="YAML that maps the file's columns (or JSON paths) to mention fields, for "
        "exports in other shapes (see docs/sources.md, Replay with a column mapping)",
    ),
    allow_now: bool = typer.Option(
        False,
        "--allow-now",
        help="replay a file whose records mostly have no event_time, stamping them with the "
        "current time (without it, such a file is refused: its times are probably in another "
        "column)",
    ),
) -> None:
    """Publish mentions from a file to the running service.

    Each record needs `text` and `source` (or --source); `external_id`, `event_time`
    (ISO 8601 or Unix seconds), `author`, `url`, `lang`, `rating` and the other mention fields
    are optional. --speed 1 plays at real time. Re-playing a file is safe: mentions are stored
    once. Invalid lines go to the dead-letter topic with the reason and the record.
    """
    from streams.replay import Reader, count_records, read_records, replay
    from streams.sources.stores import STORES, store_reader

    if speed is not None and speed <= 0:
        raise typer.BadParameter(
            "must be greater than 0 (omit it to replay as fast as possible)", param_hint="--speed"
        )
    reader: Reader = read_records
    if store is not None and mapping is not None:
        raise typer.BadParameter("use either --store or --mapping", param_hint="--mapping")
    if mapping is not None:
        from streams.mapping import load_mapping, mapped_reader

        reader = mapped_reader(load_mapping(mapping))
    if store is not None:
        if store not in STORES:
            raise typer.BadParameter(f"must be one of {', '.join(STORES)}", param_hint="--store")
        if not source:
            raise typer.BadParameter("--store needs --source NAME", param_hint="--source")
        reader = store_reader(store, source=source, product=product)
    current = settings()
    total = count_records(file, reader)  # a file it cannot read is said before the broker
    broker = resolve_broker_url(current)
    # Read before publishing: the file's own windows must not count as already closed.
    closed_until, closed_windows = _closed_until()
    with progress_bar(with_eta=True) as progress:
        task = progress.add_task(f"replaying {file.name}", total=total)
        report = asyncio.run(
            replay(
                file,
                broker_url=broker,
                mentions_topic=current.topic_name("mentions.raw"),
                dead_letter_topic=current.topic_name("dead-letter"),
                speed=speed,
                default_source=source,
                privacy=current.privacy,
                reader=reader,
                allow_now=allow_now,
                max_future_skew=timedelta(seconds=current.max_future_skew_seconds),
                on_progress=lambda n: progress.update(task, advance=n),
            )
        )
        progress.update(task, completed=total)
    status.print(
        f"published {report.published} mentions in {report.seconds:.1f}s"
        + (f", {report.rejected} rejected to the dead-letter topic" if report.rejected else "")
    )
    for line in report.rejections[:5]:
        status.print(f"  [yellow]{line}[/]")
    _say_what_will_be_judged(report.event_times, closed_until, closed_windows)
    if report.published == 0 and report.rejected:
        raise SystemExit(1)


def _closed_until() -> tuple[datetime | None, int | None]:
    """How far the service has closed windows; (None, None) when its database cannot say."""
    from sqlalchemy.exc import SQLAlchemyError

    from detectors.judged import closed_until
    from monitor.shell.resources import engine

    try:
        until, count = closed_until(engine())
    except SQLAlchemyError:
        return None, None  # a database not migrated yet or away: say nothing rather than guess
    return until, count


def _say_what_will_be_judged(
    event_times: list[datetime], closed_until: datetime | None, closed_windows: int | None
) -> None:
    from detectors.judged import describe, judge
    from monitor.shell.resources import detection_config

    config = detection_config()
    judged = judge(
        event_times,
        window_seconds=config.window_seconds,
        warmup_windows=config.detector.warmup_windows,
        closed_until=closed_until,
        closed_windows=closed_windows,
    )
    lines = describe(judged, live=True)
    status.print(lines[0])
    for line in lines[1:]:
        status.print(f"[yellow]{line}[/]")
