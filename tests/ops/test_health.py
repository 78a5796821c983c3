"""The worker's /healthz and /readyz over real HTTP: ready with Temporal and the records up; 503 naming the
failing check when the records database cannot be reached."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from activities.records.store import RecordStore
from tests.servers import binary
from workers.health import HealthServer, database_check, temporal_check
from workers.temporal import data_converter

pytestmark = pytest.mark.temporal


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_ready_when_temporal_and_the_records_answer_and_not_when_the_database_is_gone(
    records: RecordStore
) -> None:
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter()
    )
    gone = RecordStore.from_url("postgresql+asyncpg://entrypoint@127.0.0.1:1/nothing")  # nothing listens there
    good = HealthServer({"temporal": temporal_check(env.client), "records": database_check(records)})
    bad = HealthServer({"temporal": temporal_check(env.client), "records": database_check(gone)})
    try:
        good_port = await good.start("127.0.0.1", 0)
        bad_port = await bad.start("127.0.0.1", 0)
        status, body = await asyncio.to_thread(get, f"http://127.0.0.1:{good_port}/healthz")
        assert (status, body) == (200, {"status": "ok"})
        status, body = await asyncio.to_thread(get, f"http://127.0.0.1:{good_port}/readyz")
        assert status == 200 and body["checks"] == {"temporal": "ok", "records": "ok"}
        status, body = await asyncio.to_thread(get, f"http://127.0.0.1:{bad_port}/readyz")
        assert status == 503 and body["status"] == "not ready"
        assert body["checks"]["temporal"] == "ok" and body["checks"]["records"].startswith("failing: ")
        status, body = await asyncio.to_thread(get, f"http://127.0.0.1:{good_port}/nothing")
        assert status == 404
    finally:
        await good.close()
        await bad.close()
        await gone.close()
        await env.shutdown()
