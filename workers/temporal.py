"""The one place where a Temporal client is made: address, namespace, the data converter and the runtime.

Payload encryption (the roadmap's AES-GCM codec) is one line here: ``dataclasses.replace(converter,
payload_codec=...)``.

**Shutting down in order.** A client runs on a Temporal *runtime*: the SDK's Rust core with its own Tokio
threads. Left alive until the interpreter finalizes, those threads are torn down while Python is already
finalizing and take the GIL there: ``Fatal Python error: PyGILState_Release ... finalizing`` (exit 134, or a
segfault) in about one short-lived process in ten. So this process owns its runtime (not the SDK's hidden
default) and :func:`release` drops every client and then the runtime while the interpreter is fully alive; the
CLI calls it when a command ends, before its event loop closes.
"""

from __future__ import annotations

import gc
import weakref
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime, TelemetryConfig

from workers.settings import Settings

_runtime: Runtime | None = None
_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def data_converter() -> DataConverter:
    return pydantic_data_converter


def runtime() -> Runtime:
    """This process's Temporal runtime (made on first use, again after :func:`release`)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(telemetry=TelemetryConfig())
    return _runtime


async def connect(settings: Settings, connect_timeout: timedelta | None = None) -> Client:
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(),
        runtime=runtime(),
        connect_timeout=connect_timeout,
    )
    _clients.add(client)
    return client


def release() -> int:
    """Drop the runtime once no client is referenced any more, collecting what holds one; the number of clients
    still alive (then the runtime lives on with them: 0 when the shutdown is complete)."""
    global _runtime
    gc.collect()  # frames and tracebacks of the command that just ended may still hold a client
    alive = len(_clients)
    if alive == 0 and _runtime is not None:
        _runtime = None
        gc.collect()
    return alive
