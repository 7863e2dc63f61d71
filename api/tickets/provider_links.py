"""Signed, expiring links that let a provider update one ticket without an account.

Token layout: ``base64url(payload) "." base64url(HMAC-SHA256(secret, payload))``
with payload ``{"t": ticket_id, "p": provider_id, "s": "ticket:update", "exp": unix_seconds}``.
The scope limits the token to that ticket and that provider; the service
checks on every use that the ticket is still assigned to it, so reassigning a
ticket revokes the old link.  Comparison is constant-time; neither the secret
nor tokens are ever logged.  E-mails put the token in the URL fragment
(``#token=``), which browsers do not send to servers, so it stays out of
access logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

from api.errors import ApiError

SCOPE = "ticket:update"


class LinkError(ApiError):
    """The link is malformed, forged, expired or revoked (HTTP 401)."""

    status = 401
    title = "Unauthorized"


@dataclass(frozen=True, slots=True)
class LinkClaims:
    ticket_id: int
    provider_id: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: SecretStr, payload: bytes) -> bytes:
    return hmac.new(secret.get_secret_value().encode(), payload, hashlib.sha256).digest()


def issue(secret: SecretStr, ticket_id: int, provider_id: int, now: datetime,
          ttl: timedelta) -> str:
    payload = json.dumps({"t": ticket_id, "p": provider_id, "s": SCOPE,
                          "exp": int((now + ttl).timestamp())},
                         separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_sign(secret, payload))}"


def verify(secret: SecretStr, token: str, now: datetime) -> LinkClaims:
    """The claims of a valid token; LinkError (never saying which part failed) otherwise."""
    try:
        payload_text, signature_text = token.split(".")
        payload = _unb64(payload_text)
        signature = _unb64(signature_text)
    except (ValueError, TypeError) as exc:
        raise LinkError("the provider link is not valid") from exc
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        raise LinkError("the provider link is not valid")
    claims = json.loads(payload)
    if claims.get("s") != SCOPE:
        raise LinkError("the provider link is not valid")
    if int(claims["exp"]) <= now.timestamp():
        raise LinkError("the provider link has expired; ask the property manager for a new one")
    return LinkClaims(int(claims["t"]), int(claims["p"]), int(claims["exp"]))


def reply_signature(secret: SecretStr, ticket_id: int) -> str:
    """Short tag in a reply address (``tickets+12-<tag>@domain``), so replies cannot be forged
    into other tickets by guessing numbers."""
    return _b64(_sign(secret, f"reply:{ticket_id}".encode()))[:16]
