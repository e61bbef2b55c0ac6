"""Accounts without a server: password hashing and rules, users and the last admin, tokens
kept as digests, sessions, the failed sign-in limit, the first admin, and the security
settings that stop the start."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from monitor.accounts import AccountError
from monitor.accounts.passwords import hash_password, password_problem, verify_password
from monitor.accounts.sessions import (
    FAILURE_LIMIT,
    FAILURE_WINDOW,
    SESSION_LIFETIME,
    claim_attempt,
    end_session,
    forget_failures,
    record_failure,
    retry_after,
    session_user,
    start_session,
    succeeded,
)
from monitor.accounts.tokens import create_token, find_token, revoke_token
from monitor.accounts.users import (
    add_user,
    authenticate,
    first_admin,
    remove_user,
    reset_password,
    set_role,
)
from monitor.audit import entries
from monitor.settings import API_ROLES, Settings

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
GOOD = "plenty of words in here"


def test_passwords_are_argon2id_hashes_that_verify_only_the_password():
    stored = hash_password(GOOD)
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert hash_password(GOOD) != stored  # salted
    assert verify_password(stored, GOOD)
    assert not verify_password(stored, GOOD + "!")
    assert not verify_password(None, GOOD)  # no such user: refused, at the same cost
    assert not verify_password("not a hash", GOOD)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("short1!", "at least 12"),
        ("aaaaaaaaaaaaaaaa", "too few"),
        ("password1234", "too easy"),
        ("my name is vera-lynn", "too easy"),
        ("x" * 1025, "at most"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, why):
    assert why in (password_problem(password, "vera-lynn") or "")


def test_users_roles_and_the_last_admin(engine):
    add_user(engine, name="ada", role="admin", password=GOOD, actor="cli:root", now=NOW)
    with pytest.raises(AccountError, match="already exists"):
        add_user(engine, name="ada", role="viewer", password=GOOD, actor="cli:root", now=NOW)
    with pytest.raises(AccountError, match="not one of viewer, responder, approver, admin"):
        add_user(engine, name="bo", role="importer", password=GOOD, actor="cli:root", now=NOW)
    with pytest.raises(AccountError, match="at least 12"):
        add_user(engine, name="bo", role="viewer", password="short", actor="cli:root", now=NOW)
    with pytest.raises(AccountError, match="letters, digits"):
        add_user(engine, name="bo bo", role="viewer", password=GOOD, actor="cli:root", now=NOW)
    with pytest.raises(AccountError, match="last admin"):
        set_role(engine, name="ada", role="viewer", actor="cli:root", now=NOW)
    with pytest.raises(AccountError, match="last admin"):
        remove_user(engine, name="ada", actor="cli:root", now=NOW)
    assert authenticate(engine, "ada", GOOD) is not None
    assert authenticate(engine, "ada", "plenty of words in hera") is None
    assert authenticate(engine, "nobody", GOOD) is None
    actions = [(e.actor, e.action, e.subject) for e in entries(engine, subject_prefix="user:")]
    assert actions == [("cli:root", "user.add", "user:ada")]


def test_a_new_password_ends_every_session(engine):
    user = add_user(engine, name="cy", role="responder", password=GOOD, actor="t", now=NOW)
    assert user.id is not None
    session_id, signed_in = start_session(engine, user_id=user.id, now=NOW)
    assert signed_in.role == "responder" and signed_in.expires_at == NOW + SESSION_LIFETIME
    assert session_user(engine, session_id, now=NOW) == signed_in
    reset_password(engine, name="cy", password="another fine phrase", actor="t", now=NOW)
    assert session_user(engine, session_id, now=NOW) is None
    assert authenticate(engine, "cy", "another fine phrase") is not None


def test_sessions_expire_end_and_are_stored_as_digests(engine):
    user = add_user(engine, name="di", role="viewer", password=GOOD, actor="t", now=NOW)
    assert user.id is not None
    session_id, signed_in = start_session(engine, user_id=user.id, now=NOW)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT id_hash, csrf_token FROM web_sessions")).all()
    assert stored == [(stored[0][0], signed_in.csrf_token)] and stored[0][0] != session_id
    assert session_user(engine, session_id, now=NOW + SESSION_LIFETIME) is None  # expired
    assert session_user(engine, "forged", now=NOW) is None
    end_session(engine, session_id)
    assert session_user(engine, session_id, now=NOW) is None


def test_tokens_are_shown_once_and_kept_as_digests(engine):
    row, token = create_token(engine, name="feed", role="responder", actor="t", now=NOW)
    assert token.startswith("cm_") and len(token) > 40
    with engine.connect() as conn:
        dump = repr(conn.execute(text("SELECT * FROM api_tokens")).all())
    assert token not in dump and row.token_hash in dump
    found = find_token(engine, token)
    assert found is not None and (found.name, found.role) == ("feed", "responder")
    assert find_token(engine, token[:-1]) is None and find_token(engine, "") is None
    with pytest.raises(AccountError, match="already exists"):
        create_token(engine, name="feed", role="viewer", actor="t", now=NOW)
    revoke_token(engine, name="feed", actor="t", now=NOW)
    assert find_token(engine, token) is None
    with pytest.raises(AccountError, match="no token named"):
        revoke_token(engine, name="feed", actor="t", now=NOW)


def test_failed_sign_ins_lock_the_account_and_the_client_for_a_while(engine):
    for minute in range(FAILURE_LIMIT):
        assert retry_after(engine, account="ada", client="10.0.0.1", now=NOW) is None
        record_failure(
            engine, account="ada", client="10.0.0.1", now=NOW + timedelta(minutes=minute)
        )
    later = NOW + timedelta(minutes=FAILURE_LIMIT)
    wait = retry_after(engine, account="ada", client="10.0.0.9", now=later)  # the account
    assert wait is not None and 0 < wait <= FAILURE_WINDOW.total_seconds()
    assert retry_after(engine, account="bo", client="10.0.0.1", now=later)  # the client
    assert retry_after(engine, account="bo", client="10.0.0.9", now=later) is None
    assert (
        retry_after(engine, account="ada", client="10.0.0.9", now=NOW + FAILURE_WINDOW * 2) is None
    )
    forget_failures(engine, account="ada")  # after signing in: the client still counts
    assert retry_after(engine, account="ada", client="10.0.0.9", now=later) is None
    assert retry_after(engine, account="bo", client="10.0.0.1", now=later)


def test_the_first_admin_is_made_once_with_a_random_password(engine):
    password = first_admin(engine, now=NOW)
    assert password is not None and len(password) >= 20
    assert authenticate(engine, "admin", password) is not None
    assert first_admin(engine, now=NOW) is None


def test_old_token_roles_fold_into_the_four_without_gaining_approval():
    settings = Settings(api_tokens="t1=ana:approver,t2=bo:editor,t3=ivo:importer,t4=vi:viewer")  # type: ignore[arg-type]
    roles = {name: API_ROLES[role] for name, role in settings.api_token_roles.values()}
    assert roles == {"ana": "approver", "bo": "responder", "ivo": "responder", "vi": "viewer"}


@pytest.mark.parametrize("url", ["status.example.com", "ftp://example.com", "https://", "abc"])
def test_a_public_url_that_is_not_a_web_address_is_refused(url):
    with pytest.raises(ValidationError, match="must be an http:// or https:// URL"):
        Settings(public_url=url)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CRISISMON_PUBLIC_URL", "status.example.com"), ("CRISISMON_API_TOKENS", "abc")],
)
def test_a_bad_security_setting_stops_the_start_with_one_line(tmp_path: Path, variable, value):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "run"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | {"CRISISMON_DATA_DIR": str(tmp_path), variable: value},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"crisismon: error: invalid setting {variable}:")


def test_a_burst_of_parallel_guesses_gets_at_most_the_limit_through(engine):
    """Each attempt is counted before its password is checked, so twenty guesses sent at
    once cannot all pass the count before any failure is recorded (they used to)."""
    from concurrent.futures import ThreadPoolExecutor

    def guess(_: int) -> bool:
        wait, _attempt = claim_attempt(engine, account="ada", client="10.0.0.7", now=NOW)
        return wait is None

    with ThreadPoolExecutor(max_workers=8) as pool:  # three bursts within the window
        let_through = [sum(pool.map(guess, range(20))) for _ in range(3)]
    assert let_through[0] >= 1 and sum(let_through) <= FAILURE_LIMIT


def test_a_right_password_is_no_failure_for_the_client(engine):
    for _ in range(FAILURE_LIMIT + 3):  # signing in again and again from one office address
        wait, attempt = claim_attempt(engine, account="ada", client="10.0.0.1", now=NOW)
        assert wait is None
        succeeded(engine, account="ada", attempt_id=attempt)
    assert retry_after(engine, account="bo", client="10.0.0.1", now=NOW) is None
