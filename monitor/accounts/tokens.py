"""API tokens: random, shown once, stored as their SHA-256 digest, with a name and a role."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor import audit
from monitor.accounts import AccountError, check_name, check_role
from monitor.storage.accounts import ApiToken
from monitor.storage.db import session_scope

PREFIX = "cm_"  # lets secret scanners (and people) recognise a crisismon token


def token_digest(token: str) -> str:
    """What the database keeps: a digest of a 256-bit random token needs no salt or stretching."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create_token(
    engine: Engine, *, name: str, role: str, actor: str, now: datetime
) -> tuple[ApiToken, str]:
    """The new token's row and the token itself, which is never stored nor shown again."""
    check_name(name, "token name")
    check_role(role)
    token = PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
            raise AccountError(f"a token named {name!r} already exists")
        row = ApiToken(
            name=name, role=role, token_hash=token_digest(token), created_at=now, created_by=actor
        )
        session.add(row)
        audit.append(
            session, actor=actor, action="token.create", subject=f"token:{name}",
            detail={"role": role}, now=now,
        )  # fmt: skip
    return row, token


def list_tokens(engine: Engine) -> list[ApiToken]:
    with Session(engine) as session:
        return list(session.exec(select(ApiToken).order_by(col(ApiToken.name))).all())


def revoke_token(engine: Engine, *, name: str, actor: str, now: datetime) -> None:
    with session_scope(engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
        if row is None:
            raise AccountError(f"no token named {name!r}")
        session.delete(row)
        audit.append(
            session, actor=actor, action="token.revoke", subject=f"token:{name}", detail={},
            now=now,
        )  # fmt: skip


def find_token(engine: Engine, token: str) -> ApiToken | None:
    """The stored token ``token`` is, or None."""
    if not token or len(token) > 200:
        return None
    with Session(engine) as session:
        query = select(ApiToken).where(ApiToken.token_hash == token_digest(token))
        return session.exec(query).first()
