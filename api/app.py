"""The FastAPI application: routers, problem+json errors, a connection pool, hardening.

``create_app(dsn, signing_secret)`` builds an app bound to one database; the
pool opens on startup and closes on shutdown.  OpenAPI docs are at ``/docs``.

Hardening (issue 10): every request gets a request id (``X-Request-ID``,
echoed or generated) that the audit log records; bodies larger than
``AuthSettings.max_body_bytes`` are refused with 413 before a route reads
them; responses carry ``X-Content-Type-Options``, ``Referrer-Policy``,
``X-Frame-Options`` and a ``frame-ancestors`` CSP; CORS is closed (no CORS
middleware: browsers refuse cross-origin calls) until a deployment opens it on
purpose.  The signing secret is a ``SecretStr`` and is never logged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.auth.errors import AccountLockedError, AuthenticationError, RateLimitedError
from api.auth.mailer import MailError
from api.auth.rate_limit import SlidingWindowLimiter
from api.auth.router import router as auth_router
from api.auth.settings import AuthSettings
from api.bills.router import router as bills_router
from api.dunning.router import router as dunning_router
from api.ledger.router import router as ledger_router
from api.permissions import PUBLIC_ROUTES
from api.portal.router import router as portal_router
from api.reconciliation.router import router as reconciliation_router
from api.tickets.router import provider_link_router
from api.tickets.router import router as tickets_router
from api.tickets.settings import TicketSettings
from api.units.router import router as units_router

__all__ = ["PUBLIC_ROUTES", "create_app"]

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


class HardeningMiddleware:
    """Request id, body size limit and security headers, as plain ASGI (no buffering)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int,
                 upload_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Upload routes (ticket photos and documents) take larger bodies; the route
        # itself enforces the per-type limit after sniffing the content.
        self.upload_max_bytes = upload_max_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if given and len(given) <= 64 and given.isprintable() \
            else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit = (self.upload_max_bytes if _is_upload(scope.get("path", ""))
                 else self.max_body_bytes)
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._too_large(send, request_id)
            return
        if length is None:
            # No declared length (chunked): read up to the limit first, then replay, so
            # the answer is 413 and not whatever the body parser makes of a cut body.
            chunks: list[bytes] = []
            seen = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                seen += len(chunks[-1])
                if seen > limit:
                    await self._too_large(send, request_id)
                    return
                if not message.get("more_body", False):
                    break
            replayed = False
            original_receive = receive

            async def replay() -> Message:
                nonlocal replayed
                if replayed:  # later reads (disconnect) go to the real channel
                    return await original_receive()
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

            receive = replay

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [*SECURITY_HEADERS, (b"x-request-id", request_id.encode())]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _too_large(self, send: Send, request_id: str) -> None:
        body = json.dumps({"type": "about:blank", "title": "Content too large", "status": 413,
                           "detail": f"request body over {self.max_body_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", problems.PROBLEM.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})


def _is_upload(path: str) -> bool:
    return path.startswith(("/tickets/", "/provider-link/")) and path.endswith("/attachments")


def create_app(dsn: str, signing_secret: SecretStr, *, pool_max: int = 8,
               auth: AuthSettings | None = None) -> FastAPI:
    """``signing_secret`` signs access tokens (≥ 32 characters); ``auth`` overrides every
    other authentication setting (its own secret then wins)."""
    settings = auth or AuthSettings(signing_secret=signing_secret)
    pool = ConnectionPool(dsn, min_size=1, max_size=pool_max, open=False,
                          kwargs={"autocommit": True})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=15)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="meterbill", version="0.1.0", lifespan=lifespan,
                  description="Meter readings become correct, explainable bills.")
    app.state.pool = pool
    app.state.auth_settings = settings
    app.state.api_token = settings.signing_secret  # portal cookies derive their key from it
    app.state.login_limiter = SlidingWindowLimiter(
        settings.login_attempts_per_window, settings.login_window.total_seconds())
    app.state.expensive_limiter = SlidingWindowLimiter(
        settings.expensive_per_window, settings.expensive_window.total_seconds())
    problems.install(app)
    _install_auth_errors(app)
    tickets = TicketSettings()
    app.add_middleware(HardeningMiddleware, max_body_bytes=settings.max_body_bytes,
                       upload_max_bytes=max(tickets.max_image_bytes, tickets.max_document_bytes))
    app.include_router(auth_router)
    app.include_router(units_router)
    app.include_router(bills_router)
    app.include_router(tickets_router)
    app.include_router(provider_link_router)
    app.include_router(portal_router)
    app.include_router(ledger_router)
    app.include_router(reconciliation_router)
    app.include_router(dunning_router)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        return {"status": "ok"}

    return app


def _install_auth_errors(app: FastAPI) -> None:
    async def handler(request: Request, exc: Any) -> JSONResponse:
        response = problems.problem(exc.status, exc.title, exc.detail, exc.field)
        for name, value in exc.headers().items():
            response.headers[name] = value
        return response

    for cls in (AuthenticationError, AccountLockedError, RateLimitedError):
        app.add_exception_handler(cls, handler)

    async def mail_handler(request: Request, exc: Any) -> JSONResponse:
        return problems.problem(exc.status, exc.title, exc.detail)

    app.add_exception_handler(MailError, mail_handler)
