"""The gateway's /metrics (its runtime's Prometheus endpoint): requests counted by route template, method, scope
kind and status, never an id or a token; its /healthz and /readyz over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from tests.gateway.conftest import live_gateway
from tests.ops.scrape import scrape_until, value
from tests.ops.test_metrics import free_port
from tests.servers import binary
from workers.setup import register_search_attributes
from workers.temporal import data_converter

pytestmark = pytest.mark.temporal


async def test_gateway_requests_are_counted_by_route_scope_and_status(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    rt = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address, counters_total_suffix=True)))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter(), runtime=rt
    )
    try:
        await register_search_attributes(env.client, "default")
        async with live_gateway(env, f"sqlite+aiosqlite:///{tmp_path / 'records.db'}") as live, live.http() as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"] == {"temporal": "ok", "records": "ok"}
            for _ in range(3):
                missing = await http.get("/v1/partnerships/partnership-nope-x", headers=live.headers("coordinator"))
                assert missing.status_code == 404
            assert (await http.get("/v1/partnerships/partnership-nope-x")).status_code == 401
            denied = await http.get("/v1/partnerships/partnership-nope-x", headers=live.headers("esign"))
            assert denied.status_code in (403, 404)

            route = "/v1/partnerships/{partnership_id}"

            def counted(text: str) -> bool:
                return value(text, "entrypoint_gateway_requests_total", route=route, status="401") is not None

            text = await scrape_until(f"http://{address}/metrics", counted)
            series = "entrypoint_gateway_requests_total"
            assert value(text, series, route=route, method="GET", status="404", scope="coordinator") == 3
            assert value(text, series, route=route, status="401", scope="none") == 1
            assert value(text, series, route=route, scope="esign") == 1
            assert value(text, series, route="/healthz", status="200") == 1
            assert "partnership-nope-x" not in text and live.tokens["coordinator"] not in text
    finally:
        await env.shutdown()
