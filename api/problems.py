"""One handler that turns our exceptions into RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError
from billing_core.errors import BillingError

log = logging.getLogger("meterbill.api")
PROBLEM = "application/problem+json"
_TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}


def problem(status: int, title: str, detail: str, field: str | None = None,
            **extra: object) -> JSONResponse:
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status,
                               "detail": detail}
    if field:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        return problem(exc.status, exc.title, exc.detail, exc.field)

    @app.exception_handler(BillingError)
    async def _billing_error(request: Request, exc: BillingError) -> JSONResponse:
        return problem(422, "Cannot bill", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(psycopg.errors.NumericValueOutOfRange)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # A path or query number beyond PostgreSQL's bigint cannot name any object.
        return problem(404, "Not found", "no object has that id")

    @app.exception_handler(psycopg.errors.ForeignKeyViolation)
    async def _missing_reference(request: Request, exc: psycopg.Error) -> JSONResponse:
        # A request body naming an object that does not exist (the database's own check
        # is the last word; services check the common cases first with clearer words).
        detail = exc.diag.message_detail or "a referenced object does not exist"
        return problem(422, "Invalid reference", detail.replace("Key ", "", 1))

    @app.exception_handler(psycopg.errors.UniqueViolation)
    async def _duplicate(request: Request, exc: psycopg.Error) -> JSONResponse:
        detail = exc.diag.message_detail or "an object with these values exists already"
        return problem(409, "Conflict", detail.replace("Key ", "", 1))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return problem(422, "Invalid request", f"{first['field']}: {first['message']}",
                       str(first["field"]), errors=errors)
