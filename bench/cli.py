"""``python -m bench [--quick|--full] [--only NAME ...]``: run the benchmarks, one result line each.

Quick mode (the default, ``make bench``) runs small sizes and finishes in a few minutes; ``--full``
(``make bench BENCH_ARGS=--full``) runs the published sizes and writes ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import common
from workers.logging import configure

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(frozen=True)
class Sizes:
    overhead: list[int]
    memory: list[int]
    records: int
    cohort: list[int]
    matching: list[int]
    whatif: list[int]


QUICK = Sizes(overhead=[50], memory=[200], records=1000, cohort=[50], matching=[500, 2000], whatif=[5000])
FULL = Sizes(
    overhead=[200, 1000],
    memory=[1000, 10000],
    records=2000,
    cohort=[100, 500, 1000],
    matching=[500, 2000, 5000],
    whatif=[1000, 5000],
)
"""The published sizes (BENCHMARKS.md says what each took): worker memory up to 10,000 open partnerships,
cohorts of 100, 500 and 1,000, matching up to 5,000 x 2,500 (also through the command line). Records stay
at 2,000 lifecycles (10,000 would take about 16 minutes on SQLite alone); engine overhead runs n=1,000 on
SQLite only (both databases at n=200). The whole run takes well over an hour on this 2-core machine."""
FULL_ONLY_SQLITE = {1000}
"""Overhead sizes run with SQLite records only."""
HISTORY_COHORT = 5000
"""The largest cohort, for the Cohort workflow's history (stand-in activities: it costs seconds)."""


def _overhead(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import overhead

    only_sqlite = FULL_ONLY_SQLITE if sizes is FULL else set()
    return overhead.run(
        sizes.overhead, args.concurrency, args.db, with_bare=not args.engine_only, only_sqlite=only_sqlite
    )


def _memory(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import memory

    return memory.run(sizes.memory, args.concurrency)


def _history(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import history

    return history.run(HISTORY_COHORT)


def _records(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import records

    return records.run(sizes.records, args.db)


def _cohort(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import cohort

    return cohort.run(sizes.cohort, args.cohort_server)


def _matching(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import matching

    return matching.run(sizes.matching)


def _whatif(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import whatif

    return whatif.run(sizes.whatif)


def _calendar(sizes: Sizes, args: argparse.Namespace) -> Awaitable[Any]:
    from bench import calendar

    return calendar.run([40, 200] if sizes is FULL else [40])


BENCHMARKS: dict[str, Callable[[Sizes, argparse.Namespace], Awaitable[Any]]] = {
    "engine_overhead": _overhead,
    "worker_memory": _memory,
    "history": _history,
    "records": _records,
    "cohort_simulation": _cohort,
    "matching": _matching,
    "policy_whatif": _whatif,
    "calendar_feed": _calendar,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, a few minutes (the default)")
    mode.add_argument("--full", action="store_true", help="the published sizes; writes bench/results/latest.json")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME", help="run only these")
    parser.add_argument("--concurrency", type=int, default=100, help="partnerships driven at once (default: 100)")
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        metavar="N",
        help="these sizes instead of the mode's, for engine_overhead, worker_memory, cohort_simulation and matching",
    )
    parser.add_argument(
        "--engine-only", action="store_true", help="engine_overhead without the bare floor (to profile the engine)"
    )
    parser.add_argument(
        "--cohort-server",
        choices=["time-skipping", "dev"],
        default="time-skipping",
        help="cohort_simulation on the time-skipping test server (default: months skipped) or the real dev server "
        "(a programme day lasts 4 ms x the cohort's size: CPU per partnership is the measure there)",
    )
    parser.add_argument(
        "--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"], help="records databases"
    )
    return parser


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
        "sqlalchemy": version("sqlalchemy"),
        "pydantic": version("pydantic"),
    }


async def _run(names: Sequence[str], sizes: Sizes, args: argparse.Namespace) -> None:
    for name in names:
        began = time.monotonic()
        common.progress(f"{name}: starting")
        await BENCHMARKS[name](sizes, args)
        common.progress(f"{name}: done in {time.monotonic() - began:.0f}s")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Result lines alone on stdout: child processes (the Temporal servers print a banner) inherit fd 1,
    # so fd 1 becomes stderr and the results are written to a copy of the real stdout.
    sys.stdout.flush()
    common.OUT = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sizes = FULL if args.full else QUICK
    if args.sizes:
        given = args.sizes
        sizes = Sizes(overhead=given, memory=given, records=sizes.records, cohort=given, matching=given, whatif=given)
    names = args.only or list(BENCHMARKS)
    began = time.monotonic()
    with common.scratch_dir() as logs:
        # The engine logs as in production (JSON lines at INFO), to a file, so stdout keeps the result lines.
        configure("INFO", file=logs / "engine.log")
        asyncio.run(_run(names, sizes, args))
    elapsed = time.monotonic() - began
    common.progress(f"all done in {elapsed:.0f}s")
    if args.full:
        RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
            "mode": "full",
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "elapsed_s": round(elapsed, 1),
            "machine": machine(),
            "results": [result.as_json() for result in common.RESULTS],
        }
        RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
        common.progress(f"wrote {RESULTS_FILE}")
    return 0
