"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work one request can ask for
# A few of the passwords that guessing lists start with (length 12 or more).
_COMMON = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "passwordpassword",
        "administrator",
        "changemechangeme",
        "letmeinletmein",
        "crisismon1234",
    }
)

# argon2id with the library's defaults (RFC 9106's low-memory profile: 3 passes, 64 MiB).
_hasher = PasswordHasher()
# Verified when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only to spend the same time")


def password_problem(password: str, name: str = "") -> str | None:
    """Why ``password`` is too weak, or None when it will do."""
    if not password.strip():
        return "the password is empty"
    if len(password) < MIN_LENGTH:
        return f"the password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must be at most {MAX_LENGTH} characters"
    lowered = password.lower()
    if len(set(password)) < 5:
        return "the password repeats too few characters"
    if lowered in _COMMON or (name and name.lower() in lowered):
        return "the password is too easy to guess (a common one, or it holds the user name)"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; a missing user (None) costs the same time."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
