"""Request limits: the body size (413) and a per-token rate limit (429 with ``Retry-After``, from ``limits``)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import ProblemError, problem


class BodySizeLimit:
    """ASGI middleware: a request whose body is larger than ``max_bytes`` is answered 413 before any route runs.

    The body is read (up to the limit) and replayed to the app, so the limit holds for chunked uploads too.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = problem(413, f"the request body is limited to {self.max_bytes} bytes", kind="body-too-large")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await too_large(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RateLimiter:
    """A moving-window limit per key (a token's name, a webhook provider), in this process's memory."""

    def __init__(self, spec: str) -> None:
        try:
            self.items: list[RateLimitItem] = parse_many(spec)
        except ValueError:
            raise ValueError(f"ENTRYPOINT_API_RATE_LIMIT {spec!r}: use e.g. 120/minute or 10/second;500/hour") from None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, key: str) -> int | None:
        """Count one request; None when allowed, else the seconds to wait (for ``Retry-After``)."""
        for item in self.items:
            if not await self._limiter.hit(item, key):
                stats = await self._limiter.get_window_stats(item, key)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    async def check(self, key: str, detail: str) -> None:
        """Count one request; a 429 problem (``detail``, with ``Retry-After``) when over the limit."""
        wait = await self.hit(key)
        if wait is not None:
            raise ProblemError(429, detail, "rate-limited", {"Retry-After": str(wait)})
