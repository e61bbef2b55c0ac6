"""Local users: add, list, remove, change role, reset password, sign in. Every change is in
the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from monitor import audit
from monitor.accounts import AccountError, check_name, check_role
from monitor.accounts.passwords import hash_password, password_problem, verify_password
from monitor.storage.accounts import WebSession, WebUser
from monitor.storage.db import session_scope


def _strong(password: str, name: str) -> str:
    problem = password_problem(password, name)
    if problem:
        raise AccountError(problem)
    return hash_password(password)


def _find(session: Session, name: str) -> WebUser:
    user = session.exec(select(WebUser).where(WebUser.name == name)).first()
    if user is None:
        raise AccountError(f"no user named {name!r}")
    return user


def add_user(
    engine: Engine, *, name: str, role: str, password: str, actor: str, now: datetime
) -> WebUser:
    check_name(name)
    check_role(role)
    hashed = _strong(password, name)
    with session_scope(engine) as session:
        if session.exec(select(WebUser).where(WebUser.name == name)).first() is not None:
            raise AccountError(f"a user named {name!r} already exists")
        user = WebUser(
            name=name, role=role, password_hash=hashed, created_at=now, password_changed_at=now
        )
        session.add(user)
        audit.append(
            session, actor=actor, action="user.add", subject=f"user:{name}",
            detail={"role": role}, now=now,
        )  # fmt: skip
    return user


def list_users(engine: Engine) -> list[WebUser]:
    with Session(engine) as session:
        return list(session.exec(select(WebUser).order_by(col(WebUser.name))).all())


def count_users(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(WebUser)).one())


def _admins_left(session: Session, without: str) -> int:
    query = select(func.count()).select_from(WebUser)
    query = query.where(WebUser.role == "admin", WebUser.name != without)
    return int(session.exec(query).one())


def remove_user(engine: Engine, *, name: str, actor: str, now: datetime) -> None:
    with session_scope(engine) as session:
        user = _find(session, name)
        if user.role == "admin" and _admins_left(session, name) == 0:
            raise AccountError(f"{name!r} is the last admin; make another admin first")
        session.execute(delete(WebSession).where(col(WebSession.user_id) == user.id))
        session.delete(user)
        audit.append(
            session, actor=actor, action="user.remove", subject=f"user:{name}", detail={}, now=now
        )


def set_role(engine: Engine, *, name: str, role: str, actor: str, now: datetime) -> WebUser:
    check_role(role)
    with session_scope(engine) as session:
        user = _find(session, name)
        if user.role == "admin" and role != "admin" and _admins_left(session, name) == 0:
            raise AccountError(f"{name!r} is the last admin; make another admin first")
        before, user.role = user.role, role
        session.add(user)
        audit.append(
            session, actor=actor, action="user.role", subject=f"user:{name}",
            detail={"from": before, "to": role}, now=now,
        )  # fmt: skip
    return user


def reset_password(engine: Engine, *, name: str, password: str, actor: str, now: datetime) -> None:
    """A new password; every session of the user ends (a stolen one stops working)."""
    with session_scope(engine) as session:
        user = _find(session, name)
        user.password_hash = _strong(password, name)
        user.password_changed_at = now
        session.add(user)
        session.execute(delete(WebSession).where(col(WebSession.user_id) == user.id))
        audit.append(
            session, actor=actor, action="user.password", subject=f"user:{name}", detail={},
            now=now,
        )  # fmt: skip


def authenticate(engine: Engine, name: str, password: str) -> WebUser | None:
    """The user when ``password`` is theirs; None otherwise (as slow for a wrong name)."""
    with Session(engine) as session:
        user = session.exec(select(WebUser).where(WebUser.name == name[:64])).first()
    if not verify_password(user.password_hash if user else None, password):
        return None
    return user


FIRST_ADMIN = "admin"


def first_admin(engine: Engine, *, now: datetime) -> str | None:
    """On a database without users: an ``admin`` user with a random password, returned to be
    shown once; None when there are users already."""
    if count_users(engine):
        return None
    password = secrets.token_urlsafe(15)  # 20 characters, 120 bits
    add_user(
        engine, name=FIRST_ADMIN, role="admin", password=password, actor="first start", now=now
    )
    return password
