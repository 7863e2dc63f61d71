"""Access tokens (JWT, RFC 7519) and opaque secrets (refresh tokens, API keys).

Access tokens are HS256-signed, short-lived, and carry ``aud`` and ``iss``
(RFC 7519 §4.1.1/4.1.3), ``sub`` (user id), ``sid`` (login session, so logout
ends them) and ``mfa`` (whether a second factor was shown).  Roles are not in
the token: they are read per request, so a revoked role takes effect at once.
Decoding pins the algorithm list, which rules out "alg: none" and key confusion
(RFC 8725 §3.1).

Refresh tokens and API keys are 256-bit random strings; we store only their
SHA-256, which is enough for high-entropy secrets (no dictionary to attack).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from api.auth.errors import AuthenticationError
from api.auth.settings import AuthSettings

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: str
    mfa: bool


def issue_access_token(settings: AuthSettings, user_id: int, session_id: str, mfa: bool,
                       now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id), "sid": session_id, "mfa": mfa,
        "aud": settings.audience, "iss": settings.issuer,
        "iat": issued, "exp": issued + settings.access_ttl, "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.signing_secret.get_secret_value(), algorithm=ALGORITHM)


def decode_access_token(settings: AuthSettings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token, settings.signing_secret.get_secret_value(), algorithms=[ALGORITHM],
            audience=settings.audience, issuer=settings.issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "sid"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("access token expired: refresh it or log in again") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthenticationError("access token is for another audience") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthenticationError("access token signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationError(f"access token is invalid: {exc}") from exc
    try:
        return AccessClaims(int(claims["sub"]), str(claims["sid"]), bool(claims.get("mfa")))
    except (TypeError, ValueError) as exc:
        raise AuthenticationError("access token is invalid: bad subject") from exc


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
