"""Benchmark 4: the records database on its own: appending events (with read models and outbox) and verifying.

``records_append``: N realistic lifecycles (bench.domainlife, made with the real ``decide``; building them
is not timed) appended through ``RecordStore.append`` one command's events at a time, as the
``record_events`` activity does, with ``CONCURRENCY`` partnerships appending at once. Events per second.

``records_verify``: ``entrypoint records verify`` (the command line, in a process of its own, start-up
included) over those N partnerships, and its time per 10,000 partnerships (extrapolated linearly when N is
smaller, and then said so).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

from activities.records.scratch import postgres_unavailable
from activities.records.store import RecordStore
from bench.common import Result, emit, progress, records_database
from bench.domainlife import lifecycle
from domain.partnership.events import Event

CONCURRENCY = 8


async def _append_all(store: RecordStore, logs: list[tuple[str, list[list[Event]]]]) -> float:
    queue: asyncio.Queue[tuple[str, list[list[Event]]]] = asyncio.Queue()
    for item in logs:
        queue.put_nowait(item)

    async def appender() -> None:
        while not queue.empty():
            partnership_id, batches = queue.get_nowait()
            version = 0
            for events in batches:
                await store.append(partnership_id, version, events)
                version += len(events)

    began = time.perf_counter()
    await asyncio.gather(*(appender() for _ in range(CONCURRENCY)))
    return time.perf_counter() - began


def _verify(url: str) -> tuple[float, str]:
    env = {**os.environ, "ENTRYPOINT_DATABASE_URL": url, "ENTRYPOINT_LOG_LEVEL": "WARNING"}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "workers", "records", "verify"], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"records verify failed ({done.returncode}): {done.stdout[-300:]} {done.stderr[-300:]}")
    return elapsed, done.stdout.strip().splitlines()[-1]


async def run(n: int, databases: list[str]) -> list[Result]:
    results: list[Result] = []
    cohort = f"r{uuid.uuid4().hex[:6]}"
    progress(f"records: building {n} lifecycles with the domain")
    ids = [f"partnership-{cohort}-m{i:06d}" for i in range(n)]
    logs = [(pid, lifecycle(pid, cohort, i)[0]) for i, pid in enumerate(ids)]
    events = sum(len(batch) for _, batches in logs for batch in batches)
    appends = sum(len(batches) for _, batches in logs)
    unavailable = await postgres_unavailable() if "postgres" in databases else None
    for db in databases:
        if db == "postgres" and unavailable:
            results.append(emit(Result("records_append", {"db": db}, skipped=unavailable)))
            results.append(emit(Result("records_verify", {"db": db}, skipped=unavailable)))
            continue
        async with records_database(db) as url:
            store = RecordStore.from_url(url)
            try:
                progress(f"records: appending {events} events of {n} partnerships to {db}")
                wall = await _append_all(store, logs)
            finally:
                await store.close()
            results.append(
                emit(
                    Result(
                        "records_append",
                        {"db": db, "partnerships": n, "concurrency": CONCURRENCY},
                        {
                            "events_per_s": round(events / wall),
                            "appends_per_s": round(appends / wall),
                            "events": events,
                            "seconds": round(wall, 1),
                        },
                        data={"events": events, "appends": appends, "seconds": wall},
                    )
                )
            )
            progress(f"records: entrypoint records verify on {db}")
            seconds, said = await asyncio.to_thread(_verify, url)
            result = Result(
                "records_verify",
                {"db": db, "partnerships": n},
                {"seconds": round(seconds, 1), "per_10k": f"{seconds * 10_000 / n:.1f}s"},
                data={"seconds": seconds, "output": said},
            )
            if n < 10_000:
                result.notes.append(f"per_10k extrapolated linearly from {n}, start-up included")
            results.append(emit(result))
    return results
