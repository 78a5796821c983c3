"""The one place where a Temporal client is made: address, namespace, the data converter and the runtime.

The data converter is pydantic JSON, then the payload codec (workers/codec.py): every payload AES-256-GCM
encrypted under the keyring (activities/keys.py), and failures too (message and stack trace moved into an
encoded attribute). The worker, the command line, the tests and the benchmarks all use ``data_converter()``, and
``interceptors()``: the receive stamp of every command sent (workers/arrival.py), tracing when configured.

**Shutting down in order.** A client runs on a Temporal *runtime*: the SDK's Rust core with its own Tokio
threads. Left alive until the interpreter finalizes, those threads are torn down while Python is already
finalizing and take the GIL there: ``Fatal Python error: PyGILState_Release ... finalizing`` (exit 134, or a
segfault) in about one short-lived process in ten. So this process owns its runtime (not the SDK's hidden
default) and :func:`release` drops every client and then the runtime while the interpreter is fully alive; the
CLI calls it when a command ends, before its event loop closes.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import gc
import weakref
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Self

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.service import TLSConfig

from activities.keys import Keyring, load_keyring
from activities.records.datakeys import DataKeys
from activities.records.engine import Database, create_engine
from domain.errors import problems
from workers.arrival import ReceivedAtStamp
from workers.codec import EncryptionCodec
from workers.settings import Settings
from workers.settings import settings as current_settings
from workers.telemetry import TelemetrySettings, client_interceptors, drop_runtimes, runtime

_clients: weakref.WeakSet[Client] = weakref.WeakSet()


class QuietPydanticPayloadConverter(PydanticPayloadConverter):
    """Pydantic's converter, except that a payload that does not validate fails with the problems only: the
    SDK would put pydantic's text, which quotes the input (``input_value=...``: an e-mail address, a diary
    entry), into the workflow-task failure in the history and into the worker log (issue 15, finding 8)."""

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        try:
            return super().from_payloads(payloads, type_hints)
        except Exception as error:
            found: BaseException | None = error
            while found is not None and not isinstance(found, ValidationError):
                found = found.__cause__ or found.__context__
            if found is None:
                raise
            raise ValueError(f"invalid {found.title}: {problems(found)}") from None


class EngineDataConverter(DataConverter):
    """The SDK's data converter, except that giving it a serialization context re-keys the codec only.

    Of its parts only the codec reads the context (the workflow id picks a partnership's data key); the
    pydantic payload converter and the failure converter ignore it. The SDK's own ``with_context`` clones the
    whole converter through its constructor, building a new payload and failure converter each time, and a
    worker asks for a context per payload sequence of every activity command and result (6.5 % of the worker's
    Python samples in engine_overhead's profile; 2.0 % with this, BENCHMARKS.md). Here the clone is a shallow
    copy with the re-keyed codec, and none when the codec stays the same. tests/privacy/test_data_keys.py
    checks that the other parts take no context, so a converter that starts to read it is noticed.
    """

    def with_context(self, context: SerializationContext) -> Self:
        codec = self.payload_codec
        if isinstance(codec, WithSerializationContext):
            codec = codec.with_context(context)
        if codec is self.payload_codec:
            return self
        clone = copy.copy(self)
        object.__setattr__(clone, "payload_codec", codec)
        return clone


PYDANTIC = EngineDataConverter(payload_converter_class=QuietPydanticPayloadConverter)
"""Pydantic JSON whose validation failures name the problems, never the values."""


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to the frontend when any TEMPORAL_TLS_* is set (mutual TLS with a certificate and key), else none."""
    paths = (settings.temporal_tls_ca, settings.temporal_tls_cert, settings.temporal_tls_key)
    if not any(paths) and settings.temporal_tls_server_name is None:
        return False
    if bool(settings.temporal_tls_cert) != bool(settings.temporal_tls_key):
        raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS)")
    ca, cert, key = (path.read_bytes() if path else None for path in paths)
    return TLSConfig(
        server_root_ca_cert=ca, client_cert=cert, client_private_key=key, domain=settings.temporal_tls_server_name
    )


def data_converter(keyring: Keyring | None = None, data_keys: DataKeys | None = None) -> DataConverter:
    """Pydantic JSON + encryption; the keyring defaults to the process's (ENTRYPOINT_KEYRING or the file).

    Each partnership's payloads are under its own data key, so erasure can shred them (workers/codec.py);
    the data keys default to the process's (``default_data_keys``: ENTRYPOINT_DATA_KEYS_URL, else the
    records database).
    """
    keyring = keyring or load_keyring()
    data_keys = data_keys or default_data_keys(keyring)
    return dataclasses.replace(
        PYDANTIC,
        payload_codec=EncryptionCodec(keyring, data_keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


_DEFAULT_DATA_KEYS: dict[tuple[str, str, int], DataKeys] = {}


def default_data_keys(keyring: Keyring) -> DataKeys:
    """The process's data keys (ENTRYPOINT_DATA_KEYS_URL, else ENTRYPOINT_DATABASE_URL), one store per event loop
    (an async engine belongs to the loop it runs in). Nothing connects until a partnership payload is coded."""
    config = current_settings()
    url = config.data_keys_url or config.database_url
    try:
        loop = id(asyncio.get_running_loop())
    except RuntimeError:
        loop = 0
    cache_key = (url, keyring.current, loop)
    if cache_key not in _DEFAULT_DATA_KEYS:
        _DEFAULT_DATA_KEYS[cache_key] = DataKeys(Database(create_engine(url)), keyring)
    return _DEFAULT_DATA_KEYS[cache_key]


async def connect(
    settings: Settings,
    data_keys: DataKeys | None = None,
    *,
    service_name: str = "entrypoint",
    connect_timeout: timedelta | None = None,
) -> Client:
    """A client whose converter encrypts (each partnership under its data key), on the process's runtime (metrics
    when ``ENTRYPOINT_METRICS_ADDRESS`` is set) and, when an OTLP endpoint is configured, with the tracing
    interceptor (so its workers trace workflows and activities too)."""
    telemetry = telemetry_settings(settings, service_name)
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(data_keys=data_keys),
        tls=tls_config(settings),
        runtime=runtime(telemetry.metrics_address),
        interceptors=interceptors(telemetry),
        connect_timeout=connect_timeout,
    )
    _clients.add(client)
    return client


def interceptors(telemetry: TelemetrySettings | None = None) -> list[Any]:
    """Every client's interceptors: the receive stamp on each command sent (workers/arrival.py: a command counts
    as of when this client received it, not when a worker got to it), then tracing when configured."""
    return [ReceivedAtStamp(), *(client_interceptors(telemetry) if telemetry is not None else [])]


def telemetry_settings(settings: Settings, service_name: str) -> TelemetrySettings:
    from_env = TelemetrySettings.from_env(service_name)
    return TelemetrySettings(
        metrics_address=settings.metrics_address,
        otlp_endpoint=settings.otlp_endpoint or from_env.otlp_endpoint,
        service_name=service_name,
    )


def release() -> int:
    """Drop the runtime once no client is referenced any more, collecting what holds one; the number of clients
    still alive (then the runtime lives on with them: 0 when the shutdown is complete)."""
    gc.collect()  # frames and tracebacks of the command that just ended may still hold a client
    alive = len(_clients)
    if alive == 0:
        drop_runtimes()
        gc.collect()
    return alive
