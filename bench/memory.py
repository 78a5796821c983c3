"""Benchmark 2: resident memory of one worker process holding many open partnerships.

The worker is the real one, ``python -m workers worker``, in a process of its own (configured through the
environment, as in production), so its RSS (VmRSS from /proc) is its own. Partnerships are started,
matched and signed (signals), then left idle on their timers under the default (six-month) policy.
A few warm-up partnerships come first; the baseline is taken after them, so imports and the sandbox's
first load are not counted per partnership. Sizes are checkpoints of one growing population.

Temporal's Python worker keeps at most ``max_cached_workflows`` (1,000 by default; ENTRYPOINT_WORKFLOW_CACHE)
workflows in memory and evicts the rest until their next event; beyond that size the RSS per open partnership
falls, and what grows is replay work when a timer or signal reaches an evicted workflow.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from activities.records.store import RecordStore
from bench.common import Result, dev_server, emit, progress, records_database, rss_kib, scratch_dir, seed
from bench.lifecycle import application, opening
from workers.settings import settings as current_settings
from workflows.partnership import PartnershipWorkflow

WARM_UP = 5
CACHE = current_settings().workflow_cache
"""The worker's ``max_cached_workflows``: ENTRYPOINT_WORKFLOW_CACHE (the worker process inherits the environment),
1,000 by default as in temporalio."""


async def _open(client: Client, task_queue: str, cohort_id: str, first: int, count: int, concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(index: int) -> None:
        nonlocal failures
        async with gate:
            try:
                # The default policy (months), so they stay open and idle on their timers.
                app = application(cohort_id, index).model_copy(update={"policy": None})
                handle = await client.start_workflow(
                    PartnershipWorkflow.run, app, id=app.workflow_id, task_queue=task_queue
                )
                for name, payload in opening(index):
                    await handle.signal(name, payload)
            except Exception:
                failures += 1

    await asyncio.gather(*(one(i) for i in range(first, first + count)))
    return failures


async def _wait_active(client: Client, task_queue: str, cohort_id: str, expected: int, timeout: float) -> int:
    """Wait until visibility shows ``expected`` ACTIVE partnerships of the cohort; the count seen."""
    query = f"TaskQueue = '{task_queue}' AND EpCohort = '{cohort_id}' AND EpStage = 'ACTIVE'"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = 0
    while loop.time() < deadline:
        seen = (await client.count_workflows(query)).count
        if seen >= expected:
            return seen
        await asyncio.sleep(1.0)
    return seen


async def _settled_rss(pid: int) -> dict[str, int]:
    """RSS once the worker has been idle a moment (after its last activity and workflow tasks)."""
    await asyncio.sleep(3.0)
    return rss_kib(pid)


async def run(sizes: list[int], concurrency: int) -> list[Result]:
    results: list[Result] = []
    checkpoints = sorted(sizes)
    cohort = f"mem{uuid.uuid4().hex[:6]}"
    task_queue = f"mem-{uuid.uuid4().hex[:8]}"
    async with dev_server() as env, records_database("sqlite") as url:
        store = RecordStore.from_url(url)
        await seed(store, cohort)
        await seed(store, cohort + "w")
        await store.close()
        with scratch_dir() as directory:
            log = Path(directory) / "worker.log"
            environment = {
                **os.environ,
                "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                "TEMPORAL_NAMESPACE": "default",
                "ENTRYPOINT_TASK_QUEUE": task_queue,
                "ENTRYPOINT_DATABASE_URL": url,
                "ENTRYPOINT_LOG_LEVEL": "INFO",
            }
            worker = subprocess.Popen(
                [sys.executable, "-m", "workers", "worker"],
                env=environment,
                stdout=log.open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                progress(f"worker_memory: worker pid {worker.pid}; warming up with {WARM_UP} partnerships")
                await _open(env.client, task_queue, cohort + "w", 0, WARM_UP, WARM_UP)
                await _wait_active(env.client, task_queue, cohort + "w", WARM_UP, 120)
                base = await _settled_rss(worker.pid)
                opened = 0
                began = datetime.now(UTC)
                for checkpoint in checkpoints:
                    progress(f"worker_memory: opening partnerships {opened}..{checkpoint}")
                    failed = await _open(env.client, task_queue, cohort, opened, checkpoint - opened, concurrency)
                    opened = checkpoint
                    active = await _wait_active(env.client, task_queue, cohort, checkpoint, 60 + checkpoint * 0.5)
                    rss = await _settled_rss(worker.pid)
                    grown = rss["VmRSS"] - base["VmRSS"]
                    cached = min(checkpoint + WARM_UP, CACHE)
                    result = Result(
                        "worker_memory",
                        {"open": checkpoint},
                        {
                            "rss": f"{rss['VmRSS'] / 1024:.0f}MiB",
                            "baseline": f"{base['VmRSS'] / 1024:.0f}MiB",
                            "per_partnership": f"{grown / checkpoint:.1f}KiB",
                            "cached": cached,
                            "per_cached": f"{grown / max(cached - WARM_UP, 1):.1f}KiB",
                            "peak": f"{rss['VmHWM'] / 1024:.0f}MiB",
                        },
                        data={
                            "rss_kib": rss["VmRSS"],
                            "peak_kib": rss["VmHWM"],
                            "baseline_kib": base["VmRSS"],
                            "per_partnership_kib": grown / checkpoint,
                            "active_seen": active,
                            "seconds_to_open": (datetime.now(UTC) - began).total_seconds(),
                        },
                    )
                    if active < checkpoint or failed:
                        result.notes.append(f"only {active} of {checkpoint} reached ACTIVE; {failed} failed to start")
                    results.append(emit(result))
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
    return results
