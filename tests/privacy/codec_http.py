"""A real codec server on a loopback port, for tests (uvicorn in the test's event loop)."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio.api.common.v1 import Payload

from workers.codec import EncryptionCodec
from workers.codec_server import Authorizer, create_app, server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def running_codec_server(
    codec: EncryptionCodec, authorize: Authorizer, origins: list[str] | None = None
) -> AsyncIterator[str]:
    """Serve the codec app on 127.0.0.1:<free port>; yields its base URL."""
    port = free_port()
    http = server(create_app(codec, authorize, origins), "127.0.0.1", port, embedded=True)
    task = asyncio.create_task(http.serve())
    try:
        for _ in range(200):
            if http.started:
                break
            await asyncio.sleep(0.05)
        assert http.started, "the codec server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        http.should_exit = True
        await task


def as_json(payload: Payload) -> dict[str, Any]:
    """A payload in the codec contract's JSON form (base64 metadata values and data)."""
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


def data_of(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item.get("data", ""))
