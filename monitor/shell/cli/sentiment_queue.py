"""`crisismon sentiment queue`: the mentions staff should label next, and labelling them."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from monitor.shell.cli.common import ready_engine, settings, status

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from detectors.sentiment.label_queue import QueueItem, QueueSettings

# What each key means at the prompt.
KEYS = {"n": "negative", "u": "neutral", "p": "positive", "s": "skip", "q": "quit"}
PROMPT = "[n]egative, ne[u]tral, [p]ositive, [s]kip, [q]uit"


def queue_settings() -> QueueSettings:
    from detectors.sentiment.config import load_sentiment_config, sentiment_paths

    return load_sentiment_config(sentiment_paths(settings().config_dir)[0]).queue


def queue_command(
    limit: int = typer.Option(
        20, "--limit", min=1, max=1000, help="show at most this many mentions"
    ),
    label: bool = typer.Option(
        False,
        "--label",
        help="label them one by one: n(egative), u (neutral), p(ositive), s(kip) or q(uit)",
    ),
    who: str = typer.Option(
        None, "--who", help="who is labelling (default: your login name)", show_default=False
    ),
) -> None:
    """List the mentions most worth labelling, or label them with --label.

    During an open incident, the mentions that drive it come first (why: "incident #ID");
    then the ones the scorer was least sure of ("least sure"), from the last lookback_days.
    Mentions already labelled or corrected, erased, near-duplicates and drills are left out.
    At most queue.daily_cap mentions a day (config/sentiment.yaml) are offered, counted with
    those posted to Slack and labelled on the web app or its API. A label is a staff correction:
    every worker learns it within seconds. Example: crisismon sentiment queue --label --who ana
    """
    from detectors.sentiment.label_queue import offered_today, queue

    engine = ready_engine(settings())
    config = queue_settings()
    now = datetime.now(UTC)
    items = queue(engine, settings=config, now=now, limit=limit)
    used = offered_today(engine, now=now)
    status.print(
        f"{len(items)} to label; {used} of today's {config.daily_cap} offered or labelled "
        "(queue.daily_cap in config/sentiment.yaml)",
        soft_wrap=True,
    )
    if not label:
        for item in items:
            print(_line(item))
        return
    from monitor.shell.cli.sentiment import _login_name

    _label_interactively(engine, items, who=who or _login_name())


def _line(item: QueueItem) -> str:
    waiting = ", in Slack" if item.offered else ""
    text = " ".join(item.text.split())
    return (
        f"{item.mention_id}  {item.reason}{waiting}  {item.label} {item.confidence:.2f}  "
        f"{item.lang or '-'}  {text}"
    )


def _label_interactively(engine: Engine, items: list[QueueItem], *, who: str) -> None:
    from detectors.sentiment.label_queue import AlreadyLabelled, label_from_queue

    recorded = 0
    for number, item in enumerate(items, 1):
        print(
            f"\n[{number}/{len(items)}] {item.reason}; scored {item.label} ({item.confidence:.2f})"
        )
        print(f"  {' '.join(item.text.split())}")
        choice = _ask()
        if choice == "quit":
            break
        if choice == "skip":
            continue
        try:
            answer = label_from_queue(
                engine,
                mention_id=item.mention_id,
                label=choice,
                who=who,
                surface="cli",
                now=datetime.now(UTC),
                reason=item.reason,
            )
        except AlreadyLabelled as exc:
            print(f"  not recorded: {exc}")
            continue
        recorded += 1
        if answer.slack_ref:
            _show_in_slack(engine, answer.slack_ref)
        was = answer.previous_label
        print(f"  correction #{answer.correction_id}: {answer.label} (it was scored {was})")
    status.print(f"{recorded} label(s) recorded as {who}")


def _show_in_slack(engine: Engine, slack_ref: str) -> None:
    """The mention was posted to Slack: its message shows the label (when Slack is set up)."""
    import asyncio

    from monitor.incidents.slack_labels import refresh_message

    current = settings()
    if current.slack_bot_token is None:
        return
    problem = asyncio.run(
        refresh_message(
            engine,
            slack_ref=slack_ref,
            token=current.slack_bot_token,
            base_url=current.slack_base_url,
        )
    )
    if problem:
        status.print(f"  the Slack message was not updated: {problem}", soft_wrap=True)


def _ask() -> str:
    while True:
        print(f"  {PROMPT}: ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input: stop, as q does
            return "quit"
        key = line.strip().lower()[:1]
        if key in KEYS:
            return KEYS[key]
