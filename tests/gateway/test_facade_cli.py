"""The CLI speaks through the same facades as the gateway: a duplicate start, an unknown cohort and an ended
partnership get the same answers (one line; exit 2 for a mistake, 1 for a refusal)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.gateway.conftest import Live
from tests.gateway.test_contract import application, key, submit, wait_stage
from workers.cli import main

pytestmark = pytest.mark.temporal


def run_cli(live: Live, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    from workers.settings import settings

    monkeypatch.setenv("TEMPORAL_ADDRESS", live.client.service_client.config.target_host)
    monkeypatch.setenv("ENTRYPOINT_TASK_QUEUE", live.task_queue)
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", live.database_url)
    settings.cache_clear()
    try:
        return main(list(argv))
    finally:
        settings.cache_clear()


async def test_the_cli_and_the_gateway_give_the_same_answers(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if live.database_url.startswith("postgresql"):
        pytest.skip("the facades do not depend on the records database")
    body = application(live.cohort_id)
    path = tmp_path / "application.json"
    path.write_text(json.dumps(body))
    assert await asyncio.to_thread(run_cli, live, monkeypatch, "partnerships", "start", str(path)) == 0
    assert await asyncio.to_thread(run_cli, live, monkeypatch, "partnerships", "start", str(path)) == 1, "refused"
    assert "already started" in capsys.readouterr().err
    async with live.http() as http:
        again = await http.post("/v1/applications", json=body, headers=live.headers("coordinator", key()))
        assert again.status_code == 409

        assert await asyncio.to_thread(run_cli, live, monkeypatch, "cohort", "status", "no-such-cohort") == 2
        assert "no cohort no-such-cohort" in capsys.readouterr().err

        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        await http.post(
            f"/v1/partnerships/{pid}/withdraw",
            json={"party": "mentee", "reason": "moved"},
            headers=live.headers("coordinator", key()),
        )
        for _ in range(100):  # until the workflow has closed
            described = await live.client.get_workflow_handle(pid).describe()
            if described.status and described.status.name == "COMPLETED":
                break
            await asyncio.sleep(0.05)
        code = await asyncio.to_thread(run_cli, live, monkeypatch, "intervene", pid, "nudge", "--reason", "x")
        assert code == 1 and "refused: it has ended" in capsys.readouterr().err
        ended = await http.post(
            f"/v1/partnerships/{pid}/coordinator_action",
            json={"action": "nudge", "reason": "x"},
            headers=live.headers("coordinator", key()),
        )
        assert ended.status_code == 409 and ended.json()["detail"] == "it has ended and takes no more commands"
