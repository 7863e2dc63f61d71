"""Argon2id password hashes (RFC 9106) through pwdlib.

A hash made with older parameters still verifies; ``verify_and_update`` hands
back a new hash so the stored one is upgraded at the next successful login.
A dummy verify runs for unknown e-mail addresses so that the answer time does
not tell which addresses have accounts.
"""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.auth.settings import PasswordHashParams

MIN_PASSWORD_CHARS = 12


@cache
def hasher(params: PasswordHashParams) -> PasswordHash:
    return PasswordHash((Argon2Hasher(time_cost=params.time_cost,
                                      memory_cost=params.memory_cost_kib,
                                      parallelism=params.parallelism),))


def hash_password(password: str, params: PasswordHashParams) -> str:
    return hasher(params).hash(password)


def verify_password(password: str, stored_hash: str | None,
                    params: PasswordHashParams) -> tuple[bool, str | None]:
    """(matches, upgraded hash or None). ``stored_hash`` None still costs one hash."""
    h = hasher(params)
    if stored_hash is None:
        h.hash(password)  # same work as a real check
        return False, None
    return h.verify_and_update(password, stored_hash)


def check_password_policy(password: str) -> None:
    """NIST SP 800-63B §5.1.1.2: a minimum length, no composition rules."""
    from api.errors import InvalidRequestError

    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidRequestError(
            f"password: at least {MIN_PASSWORD_CHARS} characters", field="password")
