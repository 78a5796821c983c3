"""``entrypoint api`` as a process: it migrates, connects to Temporal and serves the gateway on the port given."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from gateway.store import GatewayStore
from tests.gateway.conftest import free_port

pytestmark = pytest.mark.temporal


async def test_entrypoint_api_serves_the_gateway(dev_server: WorkflowEnvironment, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    port = free_port()
    env = {
        **os.environ,
        "ENTRYPOINT_DATABASE_URL": url,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "ENTRYPOINT_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:6]}",
    }
    entrypoint = Path(sys.executable).with_name("entrypoint")
    process = await asyncio.create_subprocess_exec(
        str(entrypoint), "api", "--host", "127.0.0.1", "--port", str(port),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(300):
                try:
                    schema = await http.get("/openapi.json")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("entrypoint api did not start")
            assert schema.status_code == 200 and schema.json()["info"]["title"] == "EntryPoint Engine gateway"
            async with GatewayStore.from_url(url) as store:  # the process migrated the database
                token = await store.create_token("ops", ["ops:read"])
            listed = await http.get("/v1/partnerships", headers={"Authorization": f"Bearer {token}"})
            assert listed.status_code == 200 and listed.json()["count"] == len(listed.json()["items"])
            assert (await http.get("/v1/partnerships")).status_code == 401
    finally:
        process.terminate()
        await process.wait()
