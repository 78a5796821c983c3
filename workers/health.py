"""The worker's small health endpoint: ``/healthz`` (liveness) and ``/readyz`` (Temporal and the records reachable).

``ENTRYPOINT_HEALTH_ADDRESS`` (e.g. ``127.0.0.1:9465``; unset = none). Plain HTTP/1.1 on asyncio, no framework:
the worker has no web stack of its own. Answers are JSON; readiness is 200 when every check passes, else 503
with each check's outcome (names of errors only, never a message that could carry data).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from temporalio.client import Client

from activities.records.store import RecordStore

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT = 3.0


def temporal_check(client: Client) -> Check:
    async def check() -> None:
        await client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT))

    return check


def database_check(store: RecordStore) -> Check:
    async def check() -> None:
        async with store.database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


async def readiness(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    outcome: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT)
            outcome[name] = "ok"
        except Exception as error:
            outcome[name] = f"failing: {type(error).__name__}"
    return all(value == "ok" for value in outcome.values()), outcome


class HealthServer:
    """Serves the two endpoints on ``host:port`` until closed."""

    def __init__(self, checks: dict[str, Check]) -> None:
        self._checks = checks
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._handle, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?")[0]) if len(parts) >= 2 else ("", "")
            status, body = await self._answer(method, path)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", {"error": "only GET"}
        if path == "/healthz":
            return "200 OK", {"status": "ok"}
        if path == "/readyz":
            ready, checks = await readiness(self._checks)
            return ("200 OK" if ready else "503 Service Unavailable"), {
                "status": "ready" if ready else "not ready",
                "checks": checks,
            }
        return "404 Not Found", {"error": "not found; try /healthz or /readyz"}
