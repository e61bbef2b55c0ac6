"""Sign-in sessions kept in the database, and the limit on failed sign-ins.

The cookie carries a random session id; the database keeps its SHA-256 digest, the user, a
CSRF token and the expiry. Failed sign-ins are rows too, so every process counts the same.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, col, select

from monitor.storage.accounts import LoginFailure, WebSession, WebUser
from monitor.storage.db import session_scope

SESSION_LIFETIME = timedelta(hours=12)  # a working shift; then sign in again
FAILURE_LIMIT = 5  # failed sign-ins per account, and per client address...
FAILURE_WINDOW = timedelta(minutes=15)  # ...within this long


@dataclass(frozen=True, slots=True)
class SignedIn:
    name: str
    role: str
    csrf_token: str
    expires_at: datetime


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


def start_session(engine: Engine, *, user_id: int, now: datetime) -> tuple[str, SignedIn]:
    """A new session for the user: the cookie's value and what it grants."""
    session_id = secrets.token_urlsafe(32)
    row = WebSession(
        id_hash=_digest(session_id),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    with session_scope(engine) as session:
        session.execute(delete(WebSession).where(col(WebSession.expires_at) <= now))
        session.add(row)
        user = session.get(WebUser, user_id)
        assert user is not None
        signed_in = SignedIn(user.name, user.role, row.csrf_token, row.expires_at)
    return session_id, signed_in


def session_user(engine: Engine, session_id: str, *, now: datetime) -> SignedIn | None:
    """Who the cookie's session belongs to, or None when it is unknown or expired."""
    if not session_id or len(session_id) > 100:
        return None
    with Session(engine) as session:
        query = select(WebSession, WebUser).join(WebUser, col(WebUser.id) == WebSession.user_id)
        found = session.exec(query.where(WebSession.id_hash == _digest(session_id))).first()
    if found is None or found[0].expires_at <= now:
        return None
    row, user = found
    return SignedIn(user.name, user.role, row.csrf_token, row.expires_at)


def end_session(engine: Engine, session_id: str) -> None:
    with session_scope(engine) as session:
        session.execute(delete(WebSession).where(col(WebSession.id_hash) == _digest(session_id)))


def retry_after(
    engine: Engine, *, account: str, client: str, now: datetime, limit: int = FAILURE_LIMIT
) -> int | None:
    """Seconds until the account and the client may try again, or None when they may now."""
    since = now - FAILURE_WINDOW
    waits: list[int] = []
    with Session(engine) as session:
        for column, value in ((LoginFailure.account, account[:64]), (LoginFailure.client, client)):
            if not value:  # forgiven failures have no account; they still count for the client
                continue
            query = select(func.count(), func.min(LoginFailure.at)).where(
                column == value, col(LoginFailure.at) > since
            )
            count, oldest = session.exec(query).one()
            if count >= limit and oldest is not None:
                waits.append(max(1, int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1))
    return max(waits) if waits else None


def record_failure(engine: Engine, *, account: str, client: str, now: datetime) -> None:
    with session_scope(engine) as session:
        session.execute(delete(LoginFailure).where(col(LoginFailure.at) <= now - FAILURE_WINDOW))
        session.add(LoginFailure(account=account[:64], client=client[:64], at=now))


def claim_attempt(
    engine: Engine, *, account: str, client: str, now: datetime
) -> tuple[int | None, int | None]:
    """Count a sign-in attempt as failed before its password is checked: (the wait, None)
    when that puts it over the limit (then it is not counted), else (None, the attempt's id),
    to pass to ``succeeded`` if the password is right.

    Checking the count first and recording the failure after the slow password check let a
    burst of parallel guesses all pass the check before any was recorded: each attempt is now
    committed first, so the k-th of a burst sees at least k of them.
    """
    with session_scope(engine) as session:
        attempt = LoginFailure(account=account[:64], client=client[:64], at=now)
        session.add(attempt)
        session.flush()
        attempt_id = attempt.id
    wait = retry_after(engine, account=account, client=client, now=now, limit=FAILURE_LIMIT + 1)
    if wait is None:
        return None, attempt_id
    with session_scope(engine) as session:  # a refused attempt does not extend the wait
        session.execute(delete(LoginFailure).where(col(LoginFailure.id) == attempt_id))
    return wait, None


def succeeded(engine: Engine, *, account: str, attempt_id: int | None) -> None:
    """The attempt was right: it is no failure, and the account's failures are forgiven."""
    with session_scope(engine) as session:
        session.execute(delete(LoginFailure).where(col(LoginFailure.id) == attempt_id))
    forget_failures(engine, account=account)


def forget_failures(engine: Engine, *, account: str) -> None:
    """After a successful sign-in the account's failures no longer count; the client's still
    do (signing in to one's own account must not reset guessing at others')."""
    with session_scope(engine) as session:
        session.execute(
            update(LoginFailure).where(col(LoginFailure.account) == account[:64]).values(account="")
        )
