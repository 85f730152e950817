"""Password hashing with Argon2id (``argon2-cffi``'s recommended parameters).

Verifying an unknown account still costs one Argon2 verification (against a fixed hash), so the
time a sign-in takes does not say whether the name exists.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher().hash("not a password anyone has: itbot decoy")


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be used (a sentence), or None when it may."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password must have at most {MAX_PASSWORD_CHARS} characters"
    return None


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salted; encodes its own parameters)."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; None (no such account) is checked against a
    decoy hash and is always False. A malformed hash is False, never an exception."""
    try:
        ok = _hasher().verify(password_hash or _decoy_hash(), password[:MAX_PASSWORD_CHARS])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with weaker parameters than today's."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
