"""TOTP second factor (RFC 6238, 30 s steps, 6 digits) and one-time recovery codes.

A code is accepted for the step before, the current one and the next (RFC 6238
§5.2 allows for clock drift), and only for a step later than the last accepted
one (§5.2: "the verifier MUST NOT accept the second attempt of the same OTP"),
so a code seen once cannot be replayed inside its window.
Recovery codes are 10 random groups of 4+4 base32 characters (80 bits each),
stored as SHA-256 and each good once.
"""

from __future__ import annotations

import hmac
import secrets
import time

import psycopg
import pyotp

from api.auth.tokens import sha256_hex

STEP_S = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="meterbill")


def matching_step(secret: str, code: str, last_step: int | None,
                  now_s: float | None = None) -> int | None:
    """The time step ``code`` belongs to, if valid and newer than ``last_step``."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now_s is None else now_s) // STEP_S)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def normalize_recovery_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def new_recovery_codes(conn: psycopg.Connection, user_id: int) -> list[str]:
    """Replace the user's recovery codes; the plain codes are returned once."""
    codes = ["".join(secrets.choice(_B32) for _ in range(8)) for _ in range(RECOVERY_CODES)]
    conn.execute("DELETE FROM recovery_codes WHERE user_id = %s", (user_id,))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO recovery_codes (user_id, code_hash) VALUES (%s, %s)",
                        [(user_id, sha256_hex(c)) for c in codes])
    return [f"{c[:4]}-{c[4:]}" for c in codes]


def use_recovery_code(conn: psycopg.Connection, user_id: int, code: str) -> bool:
    row = conn.execute(
        """UPDATE recovery_codes SET used_at = now()
            WHERE user_id = %s AND code_hash = %s AND used_at IS NULL RETURNING id""",
        (user_id, sha256_hex(normalize_recovery_code(code)))).fetchone()
    return row is not None
