"""Who may use the web app and the API: local users, API tokens, sessions and their roles.

Four roles, each allowed what the ones before it are: viewer (reads), responder (acknowledges
incidents, gives feedback, feeds data), approver (drafts and messages to customers) and admin
(users, tokens, sources, customers' data). The web shell (``monitor/shell/auth``) enforces them
per route; this package holds the plain logic and the storage, so the CLI uses the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ROLE_NAMES: tuple[str, ...] = ("viewer", "responder", "approver", "admin")


class AccountError(ValueError):
    """A refused change to users or tokens; the message is one readable line."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a signed-in user or an API token, and its role."""

    name: str
    role: str
    kind: Literal["user", "token"]

    @property
    def actor(self) -> str:
        """How the audit log names them (``web:NAME``, as before accounts existed)."""
        return f"web:{self.name}"


def check_role(role: str) -> str:
    """``role`` when it is one of the four; AccountError otherwise."""
    if role not in ROLE_NAMES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLE_NAMES)}")
    return role


def check_name(name: str, what: str = "user name") -> str:
    """A user or token name: 1 to 64 letters, digits, '.', '_', '-' or '@'."""
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise AccountError(
            f"{what} {name[:70]!r} must be 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )
    if not name.isascii():
        raise AccountError(f"{what} must be ASCII")
    return name
