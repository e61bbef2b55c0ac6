"""`crisismon topics check`: validate config/topics.yaml and try it on a text."""

from __future__ import annotations

import typer

from monitor.shell.cli.common import settings, status

topics_cli = typer.Typer(
    help="Topics and products in config/topics.yaml (topic: and product: series).",
    no_args_is_help=True,
)


@topics_cli.command("check")
def check_command(
    text: str | None = typer.Option(
        None, "--text", help="also show which topics and products this text counts toward"
    ),
) -> None:
    """Validate config/topics.yaml; errors name the file and line, and exit 1."""
    from detectors.topics import load_topics

    path = settings().config_dir / "topics.yaml"
    topics = load_topics(path)  # a ConfigFileError is printed as one line by the CLI
    status.print(
        f"[green]✓[/] {path}: {len(topics.topic_names)} topics "
        f"({', '.join(topics.topic_names) or 'none'}), {len(topics.product_names)} products "
        f"({', '.join(topics.product_names) or 'none'})"
    )
    if text is not None:
        found = [f"topic:{t}" for t in topics.topics_in(text)]
        found += [f"product:{p}" for p in topics.products_in(text, product=None)]
        print(" ".join(found) if found else "no topic or product")
