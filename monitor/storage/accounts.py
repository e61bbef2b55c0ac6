"""Web accounts: local users, API tokens, sign-in sessions and failed sign-ins.

No secret is stored in clear: passwords as argon2id hashes, API tokens and session ids as
SHA-256 digests of high-entropy random values (a copy of the database lets no one sign in).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from monitor.storage.types import UTCDateTime


class WebUser(SQLModel, table=True):
    """A person who signs in to the web app."""

    __tablename__ = "web_users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)  # viewer, responder, approver, admin
    password_hash: str = Field(max_length=255)  # argon2id, with its parameters and salt
    created_at: datetime = Field(sa_type=UTCDateTime)
    password_changed_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts and integrations; shown once when created."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex of the token
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)


class WebSession(SQLModel, table=True):
    """One signed-in browser. The cookie holds the id; the database only its digest."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(max_length=64, primary_key=True)
    user_id: int = Field(foreign_key="web_users.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)  # the synchronizer token forms and htmx send back
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, counted per account and per client address to rate-limit guessing.
    In the database so that every process (workers, `crisismon web`) counts the same."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=64, index=True)
    client: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
