"""Traces through client → workflow → activities, exported by OTLP/HTTP to an in-process collector; trace ids
in the JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from activities.records.store import RecordStore
from tests.servers import binary
from tests.workflows.harness import application, start, wait_stage
from workers import logging as engine_logging
from workers.setup import register_search_attributes
from workers.temporal import data_converter
from workers.worker import build_worker

pytestmark = pytest.mark.temporal


class Collector:
    """An OTLP/HTTP trace receiver on loopback: keeps every span it is sent, as (name, trace id hex)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str]] = []
        self.requests = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.spans.extend((span.name, span.trace_id.hex()) for span in scope.spans)
                collector.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    try:
        yield c
    finally:
        c.close()


async def test_a_partnership_is_traced_from_the_client_through_its_workflow_and_activities(
    collector: Collector, records: RecordStore, cohort_id: str
) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "entrypoint-test"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.url)))
    tracing = TracingInterceptor(tracer=provider.get_tracer("entrypoint-test"))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter()
    )
    stream = io.StringIO()
    try:
        await register_search_attributes(env.client, "default")
        client = Client(**{**env.client.config(), "interceptors": [tracing]})
        task_queue = f"tq-{uuid.uuid4().hex[:8]}"
        engine_logging.configure("INFO")
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.getLogger().handlers[0].formatter)
        logging.getLogger().handlers[:] = [handler]
        async with build_worker(client, task_queue, records, mailer=None):
            handle = await start(client, task_queue, application(cohort_id))
            await wait_stage(handle, "AWAITING_MATCH")
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
        await env.shutdown()
        logging.getLogger().handlers.clear()

    names = {name for name, _ in collector.spans}
    assert "StartWorkflow:Partnership" in names
    assert "RunWorkflow:Partnership" in names
    assert {"StartActivity:register_application", "RunActivity:register_application"} <= names
    assert {"StartActivity:record_and_deliver", "RunActivity:record_and_deliver"} <= names
    start_trace = {trace for name, trace in collector.spans if name == "StartWorkflow:Partnership"}
    traces = {trace for name, trace in collector.spans if not name.startswith(("HandleQuery", "QueryWorkflow"))}
    assert traces == start_trace, "one trace from the client's start to the last activity (queries apart)"

    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    recorded = [line for line in lines if line.get("event") == "events recorded"]
    assert recorded and all(line.get("trace_id") == next(iter(traces)) for line in recorded)


async def test_a_gateway_request_is_the_parent_of_the_workflow_and_its_activities(
    collector: Collector, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from tests.gateway.conftest import live_gateway
    from tests.gateway.test_contract import submit
    from workers import telemetry

    provider = TracerProvider(resource=Resource.create({"service.name": "entrypoint-gateway-test"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.url)))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter()
    )
    telemetry.use_tracer_provider(provider)
    try:
        await register_search_attributes(env.client, "default")
        traced = Client(
            **{**env.client.config(), "interceptors": [TracingInterceptor(tracer=provider.get_tracer("gateway"))]}
        )
        database = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
        async with live_gateway(SimpleNamespace(client=traced), database) as live, live.http() as http:  # type: ignore[arg-type]
            pid = await submit(http, live)
            handle = traced.get_workflow_handle(pid)
            for _ in range(100):
                if (await handle.describe()).status is not None and collector_has(provider, collector):
                    break
        assert provider.force_flush(10_000)
    finally:
        telemetry.use_tracer_provider(None)
        provider.shutdown()
        await env.shutdown()

    by_name: dict[str, set[str]] = {}
    for name, trace in collector.spans:
        by_name.setdefault(name, set()).add(trace)
    server = next(traces for name, traces in by_name.items() if name.startswith("POST /v1/applications"))
    assert by_name["StartWorkflow:Partnership"] == server, "the gateway's request span is the workflow's parent"
    assert by_name["RunActivity:register_application"] <= server


def collector_has(provider: TracerProvider, collector: Collector) -> bool:
    provider.force_flush(5_000)
    return any(name == "RunActivity:register_application" for name, _ in collector.spans)
