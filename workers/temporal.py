"""The one place where a Temporal client is made: address, namespace and the data converter.

Payload encryption (the roadmap's AES-GCM codec) is one line here: ``dataclasses.replace(converter,
payload_codec=...)``.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from workers.settings import Settings
from workers.telemetry import TelemetrySettings, client_interceptors, runtime


def data_converter() -> DataConverter:
    return pydantic_data_converter


async def connect(settings: Settings, *, service_name: str = "entrypoint") -> Client:
    """A client on the process's runtime (metrics when ``ENTRYPOINT_METRICS_ADDRESS`` is set) and, when an OTLP
    endpoint is configured, with the tracing interceptor (so its workers trace workflows and activities too)."""
    telemetry = telemetry_settings(settings, service_name)
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(),
        runtime=runtime(telemetry.metrics_address),
        interceptors=client_interceptors(telemetry),
    )


def telemetry_settings(settings: Settings, service_name: str) -> TelemetrySettings:
    from_env = TelemetrySettings.from_env(service_name)
    return TelemetrySettings(
        metrics_address=settings.metrics_address,
        otlp_endpoint=settings.otlp_endpoint or from_env.otlp_endpoint,
        service_name=service_name,
    )
