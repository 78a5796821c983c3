"""Benchmark 1: what the engine costs over bare Temporal: CPU per command (the headline, ``cpu_ratio``:
engine / bare, the worker process and the Temporal server together) and commands (signals) per second.

On one dev server, in one run: N bare lifecycles (bench.bare, no domain, no database), then N partnerships
through their whole lifecycle with records in SQLite, then the same pair again with PostgreSQL. Each engine
run is compared with the bare run just before it, so both met the same machine load. The worker runs in
this process beside the driver, for both alike; the engine logs at INFO to a file, as in production.
``slow_tasks`` counts the SDK core's "workflow task duration exceeded" warnings during each measured run.
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.records.scratch import postgres_unavailable
from activities.records.store import RecordStore
from bench.bare import BareLifecycle, bare_noop
from bench.common import CORE_WARNINGS, Result, cpu_seconds, dev_server, emit, progress, records_database, seed
from bench.lifecycle import SIGNALS_PER_PARTNERSHIP, Outcome, drive_bare, drive_engine, drive_many
from workers.worker import WORKFLOW_RUNNER, build_worker

WARM_UP = 3


async def _bare(client: Client, n: int, concurrency: int, timeout: float) -> tuple[float, Outcome, dict[str, float]]:
    task_queue = f"bare-{uuid.uuid4().hex[:8]}"
    cohort = f"b{uuid.uuid4().hex[:6]}"
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareLifecycle],
        activities=[bare_noop],
        workflow_runner=WORKFLOW_RUNNER,
    )
    async with worker:
        await drive_many(drive_bare, client, task_queue, cohort + "w", WARM_UP, WARM_UP, timeout)
        return await _measured(drive_many(drive_bare, client, task_queue, cohort, n, concurrency, timeout))


async def _engine(
    client: Client, url: str, n: int, concurrency: int, timeout: float
) -> tuple[float, Outcome, dict[str, float]]:
    task_queue = f"engine-{uuid.uuid4().hex[:8]}"
    cohort = f"e{uuid.uuid4().hex[:6]}"
    store = RecordStore.from_url(url)
    try:
        await seed(store, cohort)
        await seed(store, cohort + "w")
        async with build_worker(client, task_queue, store, mailer=None):
            await drive_many(drive_engine, client, task_queue, cohort + "w", WARM_UP, WARM_UP, timeout)
            return await _measured(drive_many(drive_engine, client, task_queue, cohort, n, concurrency, timeout))
    finally:
        await store.close()


async def _measured(work: Any) -> tuple[float, Outcome, dict[str, float]]:
    """Run ``work`` (a drive_many coroutine); also the CPU seconds this process and the server spent on it,
    and the core's "workflow task duration exceeded" warnings meanwhile (``slow_tasks``)."""
    before, slow_before = cpu_seconds(), CORE_WARNINGS.slow_tasks
    wall, outcome = await work
    after = cpu_seconds()
    spent = {side: after[side] - before[side] for side in after}
    spent["slow_tasks"] = CORE_WARNINGS.slow_tasks - slow_before
    return wall, outcome, spent


def _rate(n: int, wall: float, outcome: Outcome) -> float:
    return outcome.ok * SIGNALS_PER_PARTNERSHIP / wall


async def run(
    sizes: list[int],
    concurrency: int,
    databases: list[str],
    with_bare: bool = True,
    only_sqlite: set[int] | None = None,
) -> list[Result]:
    results: list[Result] = []
    unavailable = await postgres_unavailable() if "postgres" in databases else None
    async with dev_server() as env:
        for n in sizes:
            timeout = max(300.0, n * 0.6)
            for db in databases:
                if only_sqlite and n in only_sqlite and db != "sqlite":
                    progress(f"engine_overhead n={n} db={db}: not run (this size runs with SQLite only)")
                    continue
                params: dict[str, Any] = {"n": n, "db": db, "concurrency": min(concurrency, n)}
                if db == "postgres" and unavailable:
                    results.append(emit(Result("engine_overhead", params, skipped=unavailable)))
                    continue
                if with_bare:
                    progress(f"engine_overhead n={n} db={db}: bare floor")
                    bare_wall, bare, bare_cpu = await _bare(env.client, n, concurrency, timeout)
                    progress(f"engine_overhead n={n} db={db}: bare {bare_wall:.1f}s; now the engine")
                else:
                    bare_wall, bare, bare_cpu = (
                        float("inf"),
                        Outcome(ok=n),
                        {"worker": 0.0, "server": 0.0, "slow_tasks": 0},
                    )
                async with records_database(db) as url:
                    engine_wall, engine, engine_cpu = await _engine(env.client, url, n, concurrency, timeout)
                progress(f"engine_overhead n={n} db={db}: engine {engine_wall:.1f}s")
                engine_rate, bare_rate = _rate(n, engine_wall, engine), _rate(n, bare_wall, bare)
                commands = n * SIGNALS_PER_PARTNERSHIP
                engine_total = engine_cpu["worker"] + engine_cpu["server"]
                bare_total = bare_cpu["worker"] + bare_cpu["server"]
                result = Result(
                    "engine_overhead",
                    params,
                    {
                        # The headline: CPU per command (worker process + Temporal server), engine / bare.
                        "cpu_ratio": f"{engine_total / bare_total:.2f}x" if bare_total else "n/a",
                        "cpu_ms_per_cmd": "engine {:.0f}+{:.0f} bare {:.0f}+{:.0f}".format(
                            *(
                                1000 * cpu[side] / commands
                                for cpu in (engine_cpu, bare_cpu)
                                for side in ("worker", "server")
                            )
                        ),
                        "engine": f"{engine_rate:.1f} cmd/s",
                        "bare": f"{bare_rate:.1f} cmd/s",
                        "rate_ratio": f"{bare_rate / engine_rate:.2f}x" if engine_rate else "n/a",
                        "slow_tasks": "engine {} bare {}".format(
                            int(engine_cpu["slow_tasks"]), int(bare_cpu["slow_tasks"])
                        ),
                    },
                )
                result.data = {
                    "engine_cmd_per_s": engine_rate,
                    "bare_cmd_per_s": bare_rate,
                    "engine_wall_s": engine_wall,
                    "bare_wall_s": bare_wall,
                    "signals_per_partnership": SIGNALS_PER_PARTNERSHIP,
                    "engine_cpu_s": engine_cpu,
                    "bare_cpu_s": bare_cpu,
                }
                for side, outcome in (("engine", engine), ("bare", bare)):
                    if outcome.failures:
                        result.notes.append(f"{side}: {n - outcome.ok}/{n} lifecycles failed: {outcome.describe()}")
                results.append(emit(result))
    return results
