"""Which activity failures are worth retrying: only transient ones (the database or Temporal out of reach, a
timeout). Everything else (validation, size, a database constraint or data error, an erased person, a version
conflict, a programming error) fails the same way on every attempt, so it is raised as a non-retryable
``ApplicationError`` and the workflow turns it into a recorded rejection or a refusal with a clear message,
instead of retrying for ever (issue 15, findings 3, 4 and 7).

Messages carry ids and error kinds, never input values: a database error's text can quote the data (a
diary entry), so only its kind is kept; the original exception is never attached as the cause.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import structlog
from pydantic import ValidationError
from sqlalchemy import exc as sa
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.records.errors import RecordsError
from domain.errors import DomainRejection, problems

log = structlog.get_logger(__name__)

MESSAGE_CHARS = 1000
"""A failure's message is cut to this (Temporal refuses failures beyond its size limit: finding 4)."""

TRANSIENT_RPC = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
    }
)


TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
"""PostgreSQL error classes worth retrying: connection, transaction rollback (serialization, deadlock),
insufficient resources, operator intervention (shutdown, cannot connect now), system error. Data (22) and
integrity (23) errors, among others, never succeed on a retry."""


def _sqlstate(error: sa.DBAPIError) -> str | None:
    orig = error.orig
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return state if isinstance(state, str) and len(state) == 5 else None


def is_transient(error: BaseException) -> bool:
    """True when trying again later may succeed: a connection, a timeout, a lock, a busy server."""
    if isinstance(error, sa.DBAPIError):
        if error.connection_invalidated:
            return True
        state = _sqlstate(error)
        if state is not None:  # PostgreSQL says which kind of error it is
            return state[:2] in TRANSIENT_SQLSTATE_CLASSES
        return isinstance(error, sa.OperationalError | sa.InterfaceError)
    if isinstance(error, sa.TimeoutError | sa.DisconnectionError):
        return True
    if isinstance(error, RPCError):
        return error.status in TRANSIENT_RPC
    if isinstance(error, ConnectionError | TimeoutError | asyncio.TimeoutError | OSError):
        return True
    return type(error).__module__.startswith("asyncpg") and "Connection" in type(error).__name__


def describe(error: BaseException) -> tuple[str, str]:
    """``(kind, message)`` of a permanent failure, without input values, at most MESSAGE_CHARS long."""
    kind = type(error).__name__
    if isinstance(error, ValidationError):
        message = problems(error)
    elif isinstance(error, sa.DBAPIError):
        state = _sqlstate(error)
        kind = {"22": "DataError", "23": "IntegrityError"}.get((state or "")[:2], kind)
        driver = getattr(error.orig, "__cause__", None) or error.orig
        detail = f"{type(driver).__name__}, SQLSTATE {state}" if state else type(driver).__name__
        message = f"the records database refused the data ({kind}: {detail})"
    elif isinstance(error, sa.SQLAlchemyError):
        message = f"the records database refused the request ({kind})"
    elif isinstance(error, RecordsError | DomainRejection | ValueError):
        message = str(error)
    else:
        message = f"{kind} (a fault in the engine; see the worker log by this activity's id)"
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return kind, message


def permanent(error: BaseException) -> ApplicationError:
    kind, message = describe(error)
    return ApplicationError(message, type=kind, non_retryable=True)


P = ParamSpec("P")
R = TypeVar("R")


def classified(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap an activity: transient errors propagate (Temporal retries them); any other becomes non-retryable."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except (ApplicationError, asyncio.CancelledError):
            raise
        except Exception as error:
            if is_transient(error):
                raise
            failure = permanent(error)
            log.warning("activity failed for good", kind=failure.type, reason=failure.message)
            raise failure from None

    return wrapper


__all__ = ["MESSAGE_CHARS", "classified", "describe", "is_transient", "permanent"]
