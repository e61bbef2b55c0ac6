"""`crisismon users …` and `crisismon tokens …`: who may use the web app and the API."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from monitor.accounts import ROLE_NAMES
from monitor.shell.cli.common import ready_engine, settings, status

users_cli = typer.Typer(
    help="Web app users and their roles (viewer, responder, approver, admin).",
    no_args_is_help=True,
)
tokens_cli = typer.Typer(
    help="API tokens for scripts and integrations, stored hashed.", no_args_is_help=True
)

ROLE_HELP = f"one of {', '.join(ROLE_NAMES)}"
Result = TypeVar("Result")


def _actor() -> str:
    from monitor.shell.cli.consent import operator

    return f"cli:{operator()}"


def _account_change(change: Callable[[], Result]) -> Result:
    """Run a change; an AccountError is the CLI's one-line error."""
    from monitor.accounts import AccountError
    from monitor.shell.cli import CliError

    try:
        return change()
    except AccountError as exc:
        raise CliError(str(exc)) from exc


def _password(name: str, from_stdin: bool) -> str:
    """The new password: one line of standard input, or typed twice (not echoed)."""
    from monitor.accounts.passwords import password_problem
    from monitor.shell.cli import CliError

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, name)
    if problem:
        raise CliError(problem)
    return password


@users_cli.command("add")
def add_command(
    name: str = typer.Argument(..., help="the user name they sign in with"),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from standard input (one line)"
    ),
) -> None:
    """Add a user; asks for the password twice (12 characters or more)."""
    from monitor.accounts import check_name, check_role
    from monitor.accounts.users import add_user

    _account_change(lambda: (check_name(name), check_role(role)))
    password = _password(name, password_stdin)
    engine = ready_engine(settings())
    _account_change(
        lambda: add_user(
            engine, name=name, role=role, password=password, actor=_actor(), now=datetime.now(UTC)
        )
    )
    status.print(f"user {name} added as {role}")


@users_cli.command("list")
def list_command() -> None:
    """The users, their roles and when their password last changed."""
    from monitor.accounts.users import list_users

    table = Table("user", "role", "created", "password changed")
    for user in list_users(ready_engine(settings())):
        table.add_row(
            user.name,
            user.role,
            f"{user.created_at:%Y-%m-%d %H:%M}",
            f"{user.password_changed_at:%Y-%m-%d %H:%M}",
        )
    Console(highlight=False).print(table)


@users_cli.command("remove")
def remove_command(name: str = typer.Argument(..., help="the user to remove")) -> None:
    """Remove a user; their sessions end. The last admin cannot be removed."""
    from monitor.accounts.users import remove_user

    engine = ready_engine(settings())
    _account_change(lambda: remove_user(engine, name=name, actor=_actor(), now=datetime.now(UTC)))
    status.print(f"user {name} removed")


@users_cli.command("set-role")
def set_role_command(
    name: str = typer.Argument(..., help="the user"),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
) -> None:
    """Change a user's role (at once, in every session)."""
    from monitor.accounts.users import set_role

    engine = ready_engine(settings())
    _account_change(
        lambda: set_role(engine, name=name, role=role, actor=_actor(), now=datetime.now(UTC))
    )
    status.print(f"{name} is now {role}")


@users_cli.command("reset-password")
def reset_password_command(
    name: str = typer.Argument(..., help="the user"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from standard input (one line)"
    ),
) -> None:
    """Set a new password; the user's sessions end."""
    from monitor.accounts.users import reset_password

    engine = ready_engine(settings())
    password = _password(name, password_stdin)
    _account_change(
        lambda: reset_password(
            engine, name=name, password=password, actor=_actor(), now=datetime.now(UTC)
        )
    )
    status.print(f"{name}'s password changed")


@tokens_cli.command("create")
def create_command(
    name: str = typer.Argument(..., help="what uses the token, e.g. zendesk-feed"),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
) -> None:
    """Create a token and print it (on standard output, alone): it is shown only this once.
    Send it as `Authorization: Bearer TOKEN`."""
    from monitor.accounts.tokens import create_token

    engine = ready_engine(settings())
    _, token = _account_change(
        lambda: create_token(engine, name=name, role=role, actor=_actor(), now=datetime.now(UTC))
    )
    status.print(f"token {name} created as {role}; copy it now, it is not shown again:")
    print(token)


@tokens_cli.command("list")
def tokens_list_command() -> None:
    """The tokens' names and roles (never the tokens)."""
    from monitor.accounts.tokens import list_tokens

    table = Table("token", "role", "created", "by")
    for row in list_tokens(ready_engine(settings())):
        table.add_row(row.name, row.role, f"{row.created_at:%Y-%m-%d %H:%M}", row.created_by)
    Console(highlight=False).print(table)


@tokens_cli.command("revoke")
def revoke_command(name: str = typer.Argument(..., help="the token's name")) -> None:
    """Revoke a token: it stops working at once."""
    from monitor.accounts.tokens import revoke_token

    engine = ready_engine(settings())
    _account_change(lambda: revoke_token(engine, name=name, actor=_actor(), now=datetime.now(UTC)))
    status.print(f"token {name} revoked")
