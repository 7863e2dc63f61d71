"""The FastAPI application: routers, problem+json errors, a connection pool.

``create_app(dsn, api_token)`` builds an app bound to one database; the pool
opens on startup and closes on shutdown.  OpenAPI docs are at ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool
from pydantic import SecretStr

from api import problems
from api.bills.router import router as bills_router
from api.units.router import router as units_router

# Routes anyone may call; every other route must depend on an identity (see api.deps).
PUBLIC_ROUTES = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json",
                           "/redoc"})


def create_app(dsn: str, api_token: SecretStr, *, pool_max: int = 8) -> FastAPI:
    if len(api_token.get_secret_value()) < 16:
        raise ValueError("the API token must be at least 16 characters")
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
    app.state.api_token = api_token
    problems.install(app)
    app.include_router(units_router)
    app.include_router(bills_router)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        return {"status": "ok"}

    return app
