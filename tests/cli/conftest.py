"""A live installation for the CLI tests: a real Temporal dev server, the records database (SQLite) and a worker,
with the CLI run as the user runs it: ``python -m workers ...`` in a subprocess, configured by the environment."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.records.store import RecordStore
from tests.servers import dev_server
from tests.workflows.conftest import seeded_store
from workers.worker import build_worker

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@dataclass
class Live:
    env: WorkflowEnvironment
    store: RecordStore
    task_queue: str
    cohort: str
    variables: dict[str, str]
    home: Path
    started: list[str] = field(default_factory=list)

    async def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 180) -> Result:
        """``entrypoint ARGV...`` in a subprocess, as a user runs it."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workers",
            *argv,
            cwd=self.home,
            env={**os.environ, **self.variables, **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def shell(self, script: str, env: dict[str, str] | None = None, timeout: float = 600) -> Result:
        """A shell script with ``.venv/bin/entrypoint`` meaning this interpreter's CLI."""
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-euo",
            "pipefail",
            "-c",
            script,
            cwd=self.home,
            env={**os.environ, **self.variables, **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())


async def run_many(live: Live, calls: Sequence[Sequence[str]], batch: int = 4) -> list[Result]:
    """Each call as a subprocess, a few at a time (the machine is shared)."""
    results: list[Result] = []
    for at in range(0, len(calls), batch):
        results += await asyncio.gather(*(live.run(*argv) for argv in calls[at : at + batch]))
    return results


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    home = tmp_path_factory.mktemp("cli")
    async with dev_server() as env:
        url = f"sqlite+aiosqlite:///{home / 'records.db'}"
        cohort = f"cli{uuid.uuid4().hex[:5]}"
        store = await seeded_store(url, cohort)
        task_queue = "entrypoint"  # the default, as the README's commands name it (the server is this module's own)
        variables = {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "ENTRYPOINT_DATABASE_URL": url,
            "ENTRYPOINT_TASK_QUEUE": task_queue,
            "ENTRYPOINT_TIMEZONE": "Europe/Helsinki",
            "ENTRYPOINT_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
        try:
            async with build_worker(env.client, task_queue, store, mailer=None):
                yield Live(env, store, task_queue, cohort, variables, home)
        finally:
            await store.close()
