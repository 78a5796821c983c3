"""Telemetry for the processes: Prometheus metrics, OpenTelemetry traces, one Temporal runtime.

- **Metrics.** ``ENTRYPOINT_METRICS_ADDRESS`` (e.g. ``127.0.0.1:9464``; unset = no metrics) makes the Temporal
  SDK's Rust core serve ``/metrics`` in Prometheus text format: the SDK's own series (``temporal_*``: task slots,
  schedule-to-start latency, sticky cache, request failures, pollers) and the engine's (``entrypoint_*``, see
  ``workers/metrics.py``), which are emitted through the same runtime's meter so one scrape has both.
- **Traces.** ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``ENTRYPOINT_OTLP_ENDPOINT``; e.g. ``http://127.0.0.1:4318``)
  exports spans by OTLP/HTTP: client → workflow → activities through Temporal's ``TracingInterceptor``; unset =
  no tracing, no exporter thread. Log lines carry the current ``trace_id`` (``workers/logging.py``).

A runtime can be built once per process; ``runtime()`` caches it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

_RUNTIME: Runtime | None = None
_RUNTIME_ADDRESS: str | None = None
_PLAIN_RUNTIME: Runtime | None = None
"""The process's own runtime without metrics (not the SDK's hidden default, so it can be dropped in order)."""
_TRACER_PROVIDER: Any = None


@dataclass(frozen=True)
class TelemetrySettings:
    metrics_address: str | None = None
    """host:port for the Prometheus endpoint; None = no metrics."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP base URL (``…/v1/traces`` is added); None = no traces."""
    service_name: str = "entrypoint-worker"

    @classmethod
    def from_env(cls, service_name: str = "entrypoint-worker") -> TelemetrySettings:
        return cls(
            metrics_address=os.environ.get("ENTRYPOINT_METRICS_ADDRESS") or None,
            otlp_endpoint=os.environ.get("ENTRYPOINT_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or None,
            service_name=service_name,
        )


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6); ValueError with the reason when it is not one."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not host:port (e.g. 127.0.0.1:9464)")
    return host.strip("[]"), int(port)


def runtime(metrics_address: str | None) -> Runtime:
    """The process's Temporal runtime: with a Prometheus endpoint on ``metrics_address``, or its own plain one."""
    global _RUNTIME, _RUNTIME_ADDRESS, _PLAIN_RUNTIME
    if metrics_address is None:
        if _RUNTIME is not None:
            return _RUNTIME
        if _PLAIN_RUNTIME is None:
            _PLAIN_RUNTIME = Runtime(telemetry=TelemetryConfig())
        return _PLAIN_RUNTIME
    if _RUNTIME is not None:
        if metrics_address != _RUNTIME_ADDRESS:
            raise RuntimeError(f"metrics are already served on {_RUNTIME_ADDRESS}; one endpoint per process")
        return _RUNTIME
    parse_address(metrics_address)
    _RUNTIME = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=metrics_address, counters_total_suffix=True, durations_as_seconds=True
            )
        )
    )
    _RUNTIME_ADDRESS = metrics_address
    return _RUNTIME


def drop_runtimes() -> None:
    """Forget the process's runtimes (made again on next use); the caller has dropped every client on them."""
    global _RUNTIME, _RUNTIME_ADDRESS, _PLAIN_RUNTIME
    _RUNTIME = _RUNTIME_ADDRESS = _PLAIN_RUNTIME = None


def tracer_provider(settings: TelemetrySettings) -> Any:
    """An OpenTelemetry tracer provider exporting by OTLP/HTTP, installed as the global one; None if not configured."""
    global _TRACER_PROVIDER
    if settings.otlp_endpoint is None:
        return None
    if _TRACER_PROVIDER is not None:
        return _TRACER_PROVIDER
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _TRACER_PROVIDER = provider
    return provider


def current_tracer_provider() -> Any:
    """The process's tracer provider (``tracer_provider`` or ``use_tracer_provider`` made it), or None."""
    return _TRACER_PROVIDER


def use_tracer_provider(provider: Any) -> None:
    """Use ``provider`` for the process's own spans (the gateway's HTTP server spans), e.g. an in-process one."""
    global _TRACER_PROVIDER
    _TRACER_PROVIDER = provider


def client_interceptors(settings: TelemetrySettings) -> list[Any]:
    """Interceptors for a Temporal client (and so its workers): tracing when an OTLP endpoint is configured."""
    if tracer_provider(settings) is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def shutdown() -> None:
    """Flush and stop the span exporter (at process exit, before the event loop closes)."""
    global _TRACER_PROVIDER
    if _TRACER_PROVIDER is not None:
        _TRACER_PROVIDER.shutdown()
        _TRACER_PROVIDER = None
