"""`crisismon customers export ID` and `crisismon customers erase ID`: access and erasure."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from monitor.shell.cli.common import ready_engine, settings, status

if TYPE_CHECKING:
    from playbooks.service import Setup

# What the broker may still hold after an erasure: printed by `erase`, explained in
# docs/privacy.md ("What remains on the broker").
BROKER_NOTE = (
    "the broker's topics cannot be edited: mentions.raw keeps their mentions (redacted text "
    "and pseudonyms) and dead-letter any raw payload that named them, until the embedded "
    "broker is recycled or restarted, or until a Kafka cluster's retention drops them "
    "(docs/privacy.md)"
)


def export_command(
    ref: str = typer.Argument(..., help="the customer's external id (or internal id)"),
    out: Path | None = typer.Option(
        None, "--out", help="write the JSON to this file (default: standard output)"
    ),
) -> None:
    """Everything held about one customer, as JSON: an answer to an access request.

    The customer row and segments, consents and their history, deliveries with their message
    (rendered again now: the text sent is not kept), their mentions (linked by pseudonym) with
    sentiment, inbox rows, dead letters that name them, and the audit entries about them.
    Needs the workers' CRISISMON_PSEUDONYM_KEY.
    """
    from sqlmodel import Session

    from monitor.shell.cli import CliError
    from playbooks.export import export_person
    from playbooks.person import PseudonymKeyNeeded, UnknownCustomer, find_customer, keyed

    current = settings()
    engine = ready_engine(current)
    try:
        # No key or an unknown id fails before the config is read.
        pseudonymiser = keyed(current.privacy.pseudonymiser, "an export")
        with Session(engine) as session:
            find_customer(session, ref)
        document = export_person(
            engine,
            ref=ref,
            pseudonymiser=pseudonymiser,
            setup=_setup(),
            now=datetime.now(UTC),
        )
    except (UnknownCustomer, PseudonymKeyNeeded) as exc:
        raise CliError(str(exc)) from exc
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from exc
    status.print(
        f"wrote {out}: {len(document['mentions'])} mentions, "
        f"{len(document['deliveries'])} deliveries, {len(document['audit'])} audit entries",
        markup=False,
        soft_wrap=True,
    )


def erase_command(
    ref: str = typer.Argument(..., help="the customer's external id (or internal id)"),
    yes: bool = typer.Option(False, "--yes", help="erase without asking"),
    who: str = typer.Option(
        None, "--who", help="who asked for it (default: your login name)", show_default=False
    ),
) -> None:
    """Erase one customer: every personal field in every table, irreversibly.

    Their mentions' text becomes "[ERASED]" (window counts stay), consents and the customer's
    fields go, pending messages are cancelled, dead letters naming them lose their payload.
    The audit log records that an erasure happened, with counts only.
    """
    from monitor.shell.cli import CliError
    from playbooks.erasure import erase_person
    from playbooks.person import PseudonymKeyNeeded, UnknownCustomer

    if not yes:
        if not sys.stdin.isatty():
            raise CliError("erasure cannot be undone: add --yes to confirm")
        typer.confirm(f"Erase customer {ref} for good?", abort=True)
    current = settings()
    try:
        report = erase_person(
            ready_engine(current),
            ref=ref,
            pseudonymiser=current.privacy.pseudonymiser,
            actor=f"cli:{who or getpass.getuser()}",
            now=datetime.now(UTC),
        )
    except (UnknownCustomer, PseudonymKeyNeeded) as exc:
        raise CliError(str(exc)) from exc
    status.print(
        f"erased customer {report.customer_id}: {report.mentions} mentions, "
        f"{report.deliveries} deliveries ({report.cancelled} pending cancelled), "
        f"{report.consents + report.consent_history} consent rows, "
        f"{report.dead_letters} dead letters, {report.inbox} inbox rows, "
        f"{report.drafts} draft previews, {report.derived.get('terms', 0)} terms only they used; "
        f"audit entry {report.audit_entry}",
        markup=False,
        soft_wrap=True,
    )
    status.print(f"note: {BROKER_NOTE}", markup=False, soft_wrap=True)


def _setup() -> Setup | None:
    """Segments and playbooks, to name segments and render messages; None if unreadable."""
    from monitor.shell.playbook_resources import playbook_setup

    try:
        return playbook_setup()
    except (OSError, ValueError) as exc:  # a broken config must not stop an access request
        status.print(f"note: playbook config unreadable ({exc}); templates are shown", markup=False)
        return None
