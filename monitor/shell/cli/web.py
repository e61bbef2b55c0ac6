"""`crisismon web`: the HTTP API alone, beside the workers."""

from __future__ import annotations

from monitor.shell.cli.service import VERBOSE, checked_settings


def web(verbose: bool = VERBOSE) -> None:
    """Serve the HTTP API alone (intake, webhooks, drafts, status page, Slack callbacks,
    unsubscribe links) against the Kafka in CRISISMON_BROKER, beside `crisismon worker`s.

    It produces to the topics and consumes none, so it takes no partitions from the workers
    and can be scaled on its own. The database schema is migrated first.
    """
    from monitor.shell.api_server import run_api_server

    current = checked_settings(verbose)
    current.require_pseudonym_key()
    run_api_server(current)
