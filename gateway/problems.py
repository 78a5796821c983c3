"""Errors as ``application/problem+json`` (RFC 9457): a status, a title, a detail a person can act on, and
for validation errors the list of every field that is wrong. Never a traceback, never an input value."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from workers.partnerships import AlreadyExists, NotFound, Rejected

PROBLEM = "application/problem+json"
TYPE_BASE = "https://entrypoint.example/problems/"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    pointer: str = Field(description="JSON pointer (body) or parameter name of the problem")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    def __init__(
        self,
        status: int,
        detail: str | None = None,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(detail or TITLES.get(status, ""))
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.errors = errors

    def response(self) -> JSONResponse:
        return problem(self.status, self.detail, self.kind, self.errors, self.headers)


def problem(
    status: int,
    detail: str | None = None,
    kind: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + kind if kind else "about:blank",
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=errors,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM, headers=headers)


def field_errors(raw: list[Any]) -> list[FieldError]:
    """Pydantic/FastAPI errors without their input values: where, and what is wrong."""
    found = []
    for error in raw:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] == "body":
            pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in loc[1:])
        else:
            pointer = ".".join(loc) or "request"
        found.append(FieldError(pointer=pointer, detail=str(error.get("msg", "invalid"))))
    return found


def is_missing_idempotency_key(error: dict[str, Any]) -> bool:
    loc = tuple(str(p).lower() for p in error.get("loc", ()))
    return loc == ("header", "idempotency-key") and error.get("type") == "missing"


async def on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(is_missing_idempotency_key(e) for e in errors):
        return problem(400, "this request needs an Idempotency-Key header", kind="idempotency-key-missing")
    return problem(422, f"{len(errors)} field(s) are not valid", kind="validation", errors=field_errors(errors))


async def on_problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return exc.response()


async def on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != TITLES.get(exc.status_code) else None
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problems a route can answer with."""
    return {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


T = TypeVar("T")


async def engine_answer(call: Callable[[], Awaitable[T]], not_found: str, *, already_exists: str | None = None) -> T:
    """One call to a workflow through the facades, its refusals as problems: Rejected is 409 with the domain's
    reason, NotFound 404 ``not_found``, AlreadyExists 409 ``already_exists`` (when given), a ValueError (a payload
    the contract refuses) 422."""
    try:
        return await call()
    except Rejected as rejection:
        raise ProblemError(409, rejection.message, "rejected") from None
    except NotFound:
        raise ProblemError(404, not_found, "not-found") from None
    except AlreadyExists:
        if already_exists is None:
            raise
        raise ProblemError(409, already_exists, "already-exists") from None
    except ValueError as error:
        raise ProblemError(422, str(error), "validation") from None
